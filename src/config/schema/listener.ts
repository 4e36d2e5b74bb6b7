/**
 * `proxy_listeners`: the SOCKS5 listeners, each configured like KumoMTA's
 * `kumo.start_proxy_listener { ... }` (KumoProxy).
 *
 * @module
 */

import * as v from "valibot";
import { cidrList, connectionRate, positiveCount } from "./access.ts";
import { listenAddress, listenKey } from "./address.ts";
import { duration } from "./duration.ts";
import { egressPoolKey } from "./pools.ts";
import { itemKeyPath, strictObject } from "./object.ts";
import { TcpKeepAliveSchema } from "./keepalive.ts";
import { tlsEntries, tlsKeyPairCheck } from "./tls.ts";

/** `true`/`false` key with its documentation. */
function flag(description: string) {
  return v.pipe(v.boolean(), v.description(description));
}

/**
 * A check for a list of listeners: each `listen` address at most once (port 0
 * excepted: each gets its own port). Reports at `[index].listen`.
 *
 * @param what the item kind in the message ("proxy listener", "HTTP listener")
 * @typeParam T the list's type at this point of the pipe
 */
export function uniqueListen<T extends unknown[]>(what: string) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const listeners = dataset.value as unknown;
    if (!Array.isArray(listeners)) return;
    const first = new Map<string, number>();
    listeners.forEach((listener: unknown, index) => {
      // Items that failed to validate still carry their parsed `listen`.
      const listen = (listener as { listen?: unknown } | null)?.listen as
        | { host?: unknown; port?: unknown; text?: unknown }
        | undefined;
      if (typeof listen?.host !== "string" || typeof listen.port !== "number") return;
      if (listen.port === 0) return; // every port-0 listener gets its own port
      const key = listenKey({ host: listen.host, port: listen.port });
      const earlier = first.get(key);
      if (earlier === undefined) {
        first.set(key, index);
        return;
      }
      addIssue({
        message: `duplicate listen address ${JSON.stringify(listen.text)}: already used by the ` +
          `${what} at index ${earlier}`,
        path: itemKeyPath(listeners, index, "listen"),
      });
    });
  });
}

/**
 * One entry of `proxy_listeners`. TLS keys are resolved to PEM text at load
 * time and the certificate and key checked against each other
 * ({@linkcode tlsKeyPairCheck}).
 */
export const ProxyListenerSchema = v.pipe(
  strictObject({
    listen: listenAddress(
      'Address to accept SOCKS5 clients on, "IP:PORT" ("0.0.0.0:1080", "[::]:1080") or "HOST:PORT" ' +
        '("localhost:1080": the name is resolved once at start, honouring /etc/hosts, and every address it ' +
        'resolves to is bound); port 0 picks any free port. The metrics "listener" label is the bound address ' +
        '("127.0.0.1:40123": the real port for port 0; one per address of a name); access rules match the text as written. ' +
        "KumoProxy: listen.",
      { hostNames: true },
    ),
    timeout: v.optional(
      duration(
        "Bound on each step of the SOCKS5 handshake (method negotiation, RFC 1929 " +
          "authentication, request) and on the outbound connect, as a duration " +
          '("60s", "5m"), in seconds once loaded. Default: "60s". KumoProxy: timeout.',
      ),
      "60s",
    ),
    require_auth: v.optional(
      flag(
        "Require RFC 1929 username/password authentication (METHOD 0x02); clients that " +
          "offer only no-auth get METHOD 0xFF. Default: false. KumoProxy: require_auth.",
      ),
      false,
    ),
    allow_domain_names: v.optional(
      flag(
        "Accept requests whose DST.ADDR is a domain name (ATYP 0x03) and resolve them here. " +
          "false answers REP 0x08 (address type not supported), for KumoMTA-style " +
          "deployments where the client resolves. Default: true.",
      ),
      true,
    ),
    egress_pool: egressPoolKey(
      "Name of a pool in pools: a CONNECT without a preceding BIND goes out through a source of this pool " +
        "(a user's egress_pool wins over the listener's). Default: connect directly.",
    ),
    ...tlsEntries("SOCKS5 listener"),
    tcp_keepalive: TcpKeepAliveSchema,
    reuse_port: v.optional(flag(
      "Set SO_REUSEPORT on the listening socket (Linux), so several instances on one host can listen " +
        "on the same address and the kernel spreads new connections over them; with cluster they share " +
        "suspensions and limits. Every instance on the address must set it. Default: false.",
    )),
    allowed_clients: cidrList(
      'Clients that may connect: IP addresses and CIDR blocks, IPv4 or IPv6 ("10.0.0.0/8", "2001:db8::/32"); ' +
        "an IPv4-mapped IPv6 client (::ffff:a.b.c.d) matches its IPv4 form. Any other client is closed at " +
        "accept, before a byte is read. Default: every client (a listener on a non-loopback address with " +
        "neither allowed_clients nor require_auth is an open proxy and is logged as one). Dante: client pass.",
      "leave allowed_clients out to allow every client",
    ),
    max_connections: positiveCount(
      "connections",
      "Most sessions open at once on this listener; past it a new connection is closed at accept " +
        "(open sessions are not touched). Default: no limit.",
    ),
    max_connections_per_client: positiveCount(
      "connections",
      "Most sessions open at once on this listener from one client IP address; past it a new connection " +
        "from that address is closed at accept. Default: no limit.",
    ),
    connection_rate: connectionRate(
      'Most new connections per client IP address on this listener, "N/period" ("100/1s", "600/1m": N, ' +
        "then an optional count and a unit s, m, h or d), with bursts of up to N; past it a new connection " +
        "is closed at accept. Loaded as { limit, period } (period in seconds). Default: no limit.",
    ),
    address_family_preference: v.optional(
      v.pipe(
        v.picklist(
          ["system", "ipv4_first", "ipv6_first", "ipv4_only", "ipv6_only"],
          (issue) =>
            `expected "system", "ipv4_first", "ipv6_first", "ipv4_only" or "ipv6_only", got ${
              JSON.stringify(issue.input)
            }`,
        ),
        v.description(
          "Which addresses of a destination name a direct CONNECT tries, and in which order. The proxy " +
            "resolves the name itself (node:dns lookup, honouring /etc/hosts) and connects to one address at a " +
            "time, the next only after a failure or after its share of the timeout, so a target sees one " +
            'connection per CONNECT. "system": the resolver\'s order; "ipv4_first" / "ipv6_first": that family ' +
            'first; "ipv4_only" / "ipv6_only": only that family (anything else answers REP 0x04). ' +
            'Default: "system".',
        ),
      ),
    ),
    use_splice: v.optional(flag(
      "Accepted for KumoProxy compatibility and ignored: proxy-server relays without splice(2) on both " +
        "runtimes, and the relay behaves the same. When any listener sets it, one notice says so at start, " +
        "as --no-splice does. KumoProxy: use_splice.",
    )),
    idle_timeout: v.optional(duration(
      'Close a tunnel when no byte has moved either way for this long, as a duration ("5m", "1h"), in ' +
        'seconds once loaded. Absent or "0s": no limit.',
    )),
  }, "a proxy listener"),
  tlsKeyPairCheck(),
);

/** `proxy_listeners`: one or more listeners, with distinct `listen` addresses. */
export const ProxyListenersSchema = v.pipe(
  v.array(ProxyListenerSchema),
  v.minLength(1, "expected at least one proxy listener, got an empty array"),
  uniqueListen<v.InferOutput<typeof ProxyListenerSchema>[]>("proxy listener"),
  v.description(
    "The SOCKS5 (RFC 1928) listeners, at least one; each listen address at most once. " +
      "KumoProxy: one kumo.start_proxy_listener call each.",
  ),
);
