/**
 * The outbound side as a session sees it: the {@linkcode Dialer} that opens
 * the connection for a CONNECT, the {@linkcode BindProbe} that checks a
 * BIND source address, and {@linkcode directDialer}, the dialer without
 * egress.
 *
 * @module
 */
import { type Conn, type NetAddr, NetError, type Runtime } from "../runtime/index.ts";
import type { SocksAddress } from "../socks5/index.ts";
import { type AccessAnswer, AccessDeniedError } from "./access.ts";

/** What a session asks of the outbound side. */
export interface OutboundRequest {
  /** DST.ADDR and DST.PORT of the CONNECT request. */
  destination: SocksAddress;
  /** The source address pinned by a preceding BIND, if any. */
  localAddress?: string;
  /** The RFC 1929 username the client authenticated as, if any. */
  username?: string;
  /** The `egress_pool` of the listener the client came in on, if any (a user's pool wins over it). */
  egressPool?: string;
  /** Aborted when the listener `timeout` expires. */
  signal: AbortSignal;
  /**
   * The listener `timeout` that `signal` enforces, seconds: egress pools
   * give each source a share of it (its default `connect_timeout`).
   */
  timeout?: number;
  /**
   * The access hook for each resolved address (`SessionAccess.connectAddress`),
   * when one is configured: a dialer that resolves DST.ADDR itself calls it
   * before each address and rejects with `AccessDeniedError` when all are
   * denied. {@linkcode directDialer} calls it for every address it would
   * connect to, an IP literal destination included.
   */
  checkAddress?: (address: NetAddr) => AccessAnswer;
  /**
   * Which resolved addresses of a destination name a direct connection
   * tries, and in which order (the listener's `address_family_preference`);
   * default `"system"`.
   */
  addressFamily?: AddressFamilyPreference;
  /**
   * Set by the dialer: the egress pool (and source, when known) the
   * connection went through; copied to the session outcome.
   */
  route?: EgressRoute;
}

/** Which egress pool and source carried a CONNECT. */
export interface EgressRoute {
  /** The pool's name. */
  pool: string;
  /** The source's name within the pool, when the pool reports it. */
  source?: string;
}

/** Opens the outbound connection for a CONNECT (directly, or through an egress pool). */
export type Dialer = (request: OutboundRequest) => Promise<Conn>;

/**
 * Checks that a local address can be bound, for KumoMTA's `BIND <source-ip>:0`.
 * Rejects (with a `code` such as `EADDRNOTAVAIL`) when it cannot.
 */
export type BindProbe = (address: string) => Promise<void>;

/**
 * The listener's `address_family_preference`: which addresses of a
 * destination name a direct CONNECT tries, in which order.
 *
 * - `system`: every address, in the resolver's order (`/etc/hosts`, then DNS)
 * - `ipv4_first` / `ipv6_first`: every address, that family first (the
 *   resolver's order kept within each family)
 * - `ipv4_only` / `ipv6_only`: only that family (a literal of the other
 *   family, or a name without such an address, answers REP 0x04)
 */
export type AddressFamilyPreference = "system" | "ipv4_first" | "ipv6_first" | "ipv4_only" | "ipv6_only";

/**
 * Order (and filter) resolved addresses by `preference`; see
 * {@linkcode AddressFamilyPreference}. Stable within each family.
 *
 * @example
 * ```ts
 * orderAddresses(["::1", "127.0.0.1"], "ipv4_first"); // ["127.0.0.1", "::1"]
 * orderAddresses(["::1", "127.0.0.1"], "ipv6_only"); // ["::1"]
 * ```
 */
export function orderAddresses(addresses: readonly string[], preference: AddressFamilyPreference = "system"): string[] {
  if (preference === "system") return [...addresses];
  const v4 = addresses.filter((a) => !a.includes(":"));
  const v6 = addresses.filter((a) => a.includes(":"));
  switch (preference) {
    case "ipv4_first":
      return [...v4, ...v6];
    case "ipv6_first":
      return [...v6, ...v4];
    case "ipv4_only":
      return v4;
    case "ipv6_only":
      return v6;
  }
}

/** Options of {@linkcode directDialer}. */
export interface DirectDialerOptions {
  /**
   * Resolves a destination name to its addresses in the resolver's order;
   * default `runtime.resolve` (node:dns lookup, honouring `/etc/hosts`).
   * For tests that need a name with several addresses.
   */
  resolve?: (host: string) => Promise<string[]>;
}

/** Whether `host` is an IP literal (IPv4 dotted quad or IPv6), the cheap way: names have a letter after the last dot. */
function isIpLiteral(host: string): boolean {
  if (host.includes(":")) return true;
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A signal that aborts after `ms` or with `parent`, and a function to drop its timer. */
function shareOf(parent: AbortSignal, ms: number): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new DOMException("per-address share of the timeout", "TimeoutError")),
    ms,
  );
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      parent.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * The {@linkcode Dialer} without egress: connect straight to DST.ADDR, from
 * the BIND-pinned source address when there is one.
 *
 * A destination name is resolved here, not by the runtime's connect (Bun's
 * races every address at once: two connections reach a target for one
 * CONNECT). The addresses are ordered by `OutboundRequest.addressFamily`
 * (a BIND-pinned source keeps only its own family), each is checked with
 * `OutboundRequest.checkAddress` (an IP literal too), and only those
 * allowed are tried, one at a time: the next only after the previous
 * failed or spent its share of the timeout (what is left of `timeout`
 * divided by the addresses left), so a target sees exactly one connection
 * per successful CONNECT. When every address is denied the dialer rejects
 * with {@linkcode AccessDeniedError} (REP 0x02) and opens no socket; when
 * every attempt fails, with the last attempt's error.
 */
export function directDialer(runtime: Runtime, options: DirectDialerOptions = {}): Dialer {
  const resolve = options.resolve ?? ((host: string) => runtime.resolve(host));
  return async (req) => {
    const { host, port } = req.destination;
    const literal = isIpLiteral(host);
    let addresses = literal ? [host.startsWith("[") ? host.slice(1, -1) : host] : await resolve(host);
    addresses = orderAddresses(addresses, req.addressFamily);
    if (req.localAddress !== undefined) {
      const v6 = req.localAddress.includes(":");
      addresses = addresses.filter((a) => a.includes(":") === v6);
    }
    if (addresses.length === 0) {
      throw new NetError("ENOTFOUND", `${host} has no address of the family this request may use`);
    }
    const check = req.checkAddress;
    let denied: string | undefined;
    if (check !== undefined) {
      const allowed: string[] = [];
      for (const address of addresses) {
        const decision = await check({ host: address, port });
        if (decision.allow) allowed.push(address);
        else denied ??= decision.reason;
      }
      if (allowed.length === 0) throw new AccessDeniedError(denied ?? "denied");
      addresses = allowed;
    }
    if (addresses.length === 1) {
      return runtime.connect({ host: addresses[0], port, localAddress: req.localAddress, signal: req.signal });
    }
    const deadline = performance.now() + (req.timeout ?? 60) * 1000;
    let lastError: unknown;
    for (let i = 0; i < addresses.length; i++) {
      if (req.signal.aborted) break;
      const share = Math.max(1, (deadline - performance.now()) / (addresses.length - i));
      const { signal, done } = shareOf(req.signal, share);
      try {
        return await runtime.connect({ host: addresses[i], port, localAddress: req.localAddress, signal });
      } catch (error) {
        lastError = error;
      } finally {
        done();
      }
    }
    throw lastError ?? new NetError("ETIMEDOUT", `connect to ${host} timed out`);
  };
}
