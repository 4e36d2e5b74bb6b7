/**
 * `sources` and `sources_file`: egress sources, with KumoMTA's option names
 * (`kumo.make_egress_source`), so a KumoMTA operator recognises them. The
 * same source schema validates the `[source."NAME"]` tables of KumoMTA
 * sources-helper files (`sources_file`). The rules between a source's keys
 * are the egress library's own (`sourceSpecProblems`), so the config and
 * the library refuse the same sources with the same words.
 *
 * Output shape matches the egress library's `EgressSourceSpec`: durations in
 * seconds, `host:port` parsed, triggers as `"Immediate"` or
 * `{ limit, period }`, secrets resolved.
 *
 * @module
 */

import * as v from "valibot";
import { sourceSpecProblems, type SourceSpecShape } from "../../egress/source-rules.ts";
import { isIpLiteral } from "../../runtime/index.ts";
import { serverAddress } from "./address.ts";
import { duration } from "./duration.ts";
import { got, utf8Length } from "./messages.ts";
import { strictObject } from "./object.ts";
import { secret } from "./secret.ts";
import { TriggerSchema } from "./threshold.ts";

/** An IP literal key (a local or proxy-side source address); output: the string. */
function ipLiteral(description: string) {
  return v.pipe(
    v.string(),
    v.check(
      isIpLiteral,
      (issue) => `expected an IP address literal such as "10.0.0.1" or "2001:db8::1", got ${got(issue.input)}`,
    ),
    v.description(description),
  );
}

/** `suspend_when_proxy_unhealthy` / `suspend_when_unplumbed`: KumoMTA's `SuspendOnFailure`. */
function suspendRule(description: string) {
  return v.pipe(
    strictObject({
      trigger: v.optional(
        v.pipe(
          TriggerSchema,
          v.description(
            'When the rule fires: "Immediate" (default, one failure) or { "Threshold": "N/period" }. ' +
              "KumoMTA: trigger.",
          ),
        ),
        "Immediate",
      ),
      duration: v.pipe(
        duration(
          'How long the source stays suspended once the rule fires ("10m", "2s"), in seconds once loaded. ' +
            "Required. KumoMTA: duration.",
        ),
        v.check((seconds) => seconds > 0, "expected a duration above 0"),
      ),
    }, '{ "trigger", "duration" }'),
    v.description(description),
  );
}

/** A positive whole number with its documentation. */
function count(description: string) {
  return v.pipe(
    v.number(),
    v.integer((issue) => `expected a whole number, got ${got(issue.input)}`),
    v.minValue(1, (issue) => `expected at least 1, got ${got(issue.input)}`),
    v.description(description),
  );
}

/** `health_check`: Caddy layer4-style active checks of a proxy source. */
const HealthCheckSchema = v.pipe(
  strictObject({
    interval: v.optional(
      v.pipe(
        duration('Time between checks, in seconds once loaded. Default: "30s".'),
        v.check((seconds) => seconds > 0, "expected a duration above 0"),
      ),
      "30s",
    ),
    timeout: v.optional(
      v.pipe(
        duration('Bound on one check, in seconds once loaded. Default: "5s".'),
        v.check((seconds) => seconds > 0, "expected a duration above 0"),
      ),
      "5s",
    ),
    fall: v.optional(count("Consecutive failed checks that mark the source down and suspend it. Default: 1."), 1),
    rise: v.optional(count("Consecutive passed checks that mark it up again. Default: 1."), 1),
  }, "a health check { interval, timeout, fall, rise }"),
  v.description(
    "Active health checks (proxy sources only): every interval, a real SOCKS5 exchange with the upstream " +
      "proxy (greeting, RFC 1929 authentication, and BIND of socks5_proxy_source_address when set), or a " +
      "PROXY v2 LOCAL header for a HAProxy source. fall failures in a row suspend the source with reason " +
      "HealthCheck until rise passes in a row.",
  ),
);

/**
 * Keys of `kumo.make_egress_source` that only matter to an MTA (EHLO name,
 * destination port mapping, cache lifetime), and `name`, which the key in
 * `sources` (or the table name) already gives. A KumoMTA user's sources
 * carry them; they are accepted, dropped from the loaded source, and named
 * in one notice.
 */
export const IGNORED_SOURCE_KEYS = ["ehlo_domain", "remote_port", "ttl", "name"] as const;

/** Keys of `kumo.make_egress_pool` accepted in a pool and ignored the same way (the entries are the pool). */
export const IGNORED_POOL_KEYS = ["name", "ttl"] as const;

/** Documentation of an ignored KumoMTA key. */
function ignoredKey(key: string, what: string, why: string): string {
  return `Accepted for KumoMTA compatibility and ignored (${why}); the loader names it in one notice. ` +
    `KumoMTA: ${what}.${key}.`;
}

/** `make_egress_source` keys that mean nothing to a proxy: accepted with their KumoMTA types, then dropped. */
const IgnoredSourceEntries = {
  name: v.optional(v.pipe(
    v.string(),
    v.description(ignoredKey("name", "make_egress_source", "the key in sources is the name")),
  )),
  ehlo_domain: v.optional(v.pipe(
    v.string(),
    v.description(ignoredKey("ehlo_domain", "make_egress_source", "an MTA's EHLO name")),
  )),
  remote_port: v.optional(v.pipe(
    v.number(),
    v.integer((issue) => `expected a port 1-65535, got ${got(issue.input)}`),
    v.minValue(1, (issue) => `expected a port 1-65535, got ${got(issue.input)}`),
    v.maxValue(65535, (issue) => `expected a port 1-65535, got ${got(issue.input)}`),
    v.description(ignoredKey("remote_port", "make_egress_source", "the SOCKS5 client names the port")),
  )),
  ttl: v.optional(duration(ignoredKey("ttl", "make_egress_source", "an MTA's cache lifetime"))),
} as const;

/** The keys of one source (shared by `sources` and sources-helper files). */
export const SourceEntries = {
  source_address: v.optional(ipLiteral(
    "Local IP address to bind before connecting (to the destination, or to the proxy when one is set). " +
      "KumoMTA: source_address.",
  )),
  socks5_proxy_server: v.optional(serverAddress(
    'Upstream SOCKS5 proxy, "HOST:PORT"; HOST may be a DNS name, resolved at each connect, every address ' +
      "tried in turn. KumoMTA: socks5_proxy_server.",
  )),
  socks5_proxy_source_address: v.optional(ipLiteral(
    "Source address the upstream proxy should use, requested with BIND <address>:0 before CONNECT " +
      "(KumoMTA's source selection). Without it no BIND is sent. KumoMTA: socks5_proxy_source_address.",
  )),
  socks5_proxy_username: v.optional(v.pipe(
    v.string(),
    v.check(
      (name) => name.length > 0 && utf8Length(name) <= 255,
      (issue) => `expected a username of 1 to 255 bytes (RFC 1929 ULEN), got ${utf8Length(String(issue.input))} bytes`,
    ),
    v.description("RFC 1929 username for the upstream proxy. KumoMTA: socks5_proxy_username."),
  )),
  socks5_proxy_password: v.optional(secret(
    'RFC 1929 password for the upstream proxy: the password itself, { "env": NAME } or { "file": PATH }. ' +
      "KumoMTA: socks5_proxy_password.",
    255,
  )),
  ha_proxy_server: v.optional(serverAddress(
    'HAProxy listening with accept-proxy, "HOST:PORT": the connection starts with a PROXY protocol v2 ' +
      "header. KumoMTA: ha_proxy_server.",
  )),
  ha_proxy_source_address: v.optional(ipLiteral(
    "Source address written into the PROXY v2 header (HAProxy presents it, e.g. with usesrc clientip). " +
      "Required with ha_proxy_server. KumoMTA: ha_proxy_source_address.",
  )),
  suspend_when_proxy_unhealthy: v.optional(suspendRule(
    "Suspend this source from pool selection when its proxy is unreachable, refuses, times out, fails the " +
      "handshake, or answers the BIND of the source address with an error. KumoMTA: suspend_when_proxy_unhealthy.",
  )),
  suspend_when_unplumbed: v.optional(suspendRule(
    "Suspend this source when binding source_address fails because the address is not on this host " +
      "(EADDRNOTAVAIL). KumoMTA: suspend_when_unplumbed.",
  )),
  share_failure_windows: v.optional(v.pipe(
    v.boolean(),
    v.description(
      "With cluster: count this source's failures for a Threshold trigger across every instance (N " +
        "failures in the period on any of them trips the rule). Off by default, since reachability can " +
        "depend on the host. Without cluster it changes nothing. Default: false.",
    ),
  )),
  health_check: v.optional(HealthCheckSchema),
  connect_timeout: v.optional(v.pipe(
    duration(
      "Bound on reaching this source's proxy and its handshake before CONNECT (TCP connect, greeting, " +
        "RFC 1929, BIND; for HAProxy the connect and the PROXY header), and on the rest of a CONNECT reply " +
        "once its first byte has arrived, in seconds once loaded (proxy sources only). Running past it is a " +
        "proxy failure (it counts for suspend_when_proxy_unhealthy) and a pool tries its next source. Waiting " +
        "for the first byte of the CONNECT reply is bounded only by the listener timeout (the upstream may be " +
        "waiting for a slow destination; no reply in time is REP 0x06, not a proxy failure). Default: a " +
        "quarter of the listener timeout (15s of the default 60s), so three sources can fail over and a fourth " +
        "still gets its share; the listener timeout bounds it too.",
    ),
    v.check((seconds) => seconds > 0, "expected a duration above 0"),
  )),
  ...IgnoredSourceEntries,
} as const;

/**
 * A copy of `value` without the keys in `keys` (the ignored KumoMTA keys of
 * a loaded source or pool).
 *
 * @param value a loaded object
 * @param keys the keys to drop
 */
export function withoutKeys<T extends object, K extends string>(value: T, keys: readonly K[]): Omit<T, K> {
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key of keys) delete copy[key];
  return copy as Omit<T, K>;
}

/** One egress source, with the contradictions between its keys checked. */
export const SourceSchema = v.pipe(
  strictObject(SourceEntries, "an egress source"),
  v.rawCheck(({ dataset, addIssue }) => {
    const source = dataset.value as unknown;
    if (source === null || typeof source !== "object" || Array.isArray(source)) return;
    for (const { message } of sourceSpecProblems(source as SourceSpecShape)) addIssue({ message });
  }),
  v.transform((source) => withoutKeys(source, IGNORED_SOURCE_KEYS)),
  v.description(
    "An egress source (KumoMTA: kumo.make_egress_source): direct (optionally from source_address), via an " +
      "upstream SOCKS5 proxy (socks5_proxy_server), or via HAProxy's PROXY protocol v2 (ha_proxy_server).",
  ),
);

/** A source or pool name: the `source` label of metrics and the key in the admin API. */
const NAME_PATTERN = /^[^\s/]{1,128}$/;

/** A record keyed by source or pool names (the keys of `sources` and `pools`). */
export function namedRecord<T extends v.GenericSchema>(what: string, value: T) {
  return v.record(
    v.pipe(
      v.string(),
      v.regex(
        NAME_PATTERN,
        (issue) => `expected a ${what} name of 1 to 128 characters without spaces or "/", got ${got(issue.input)}`,
      ),
    ),
    value,
  );
}

/** `sources`: name -> source. */
export const SourcesSchema = v.pipe(
  namedRecord("source", SourceSchema),
  v.description(
    'Egress sources by name (KumoMTA: get_egress_source). Names are the "source" label of the ' +
      "egress_source_* metrics. Default: none.",
  ),
);

/** `sources_file`: one path or a list of paths. */
export const SourcesFileSchema = v.pipe(
  v.union([
    v.pipe(v.string(), v.minLength(1, "expected a file path")),
    v.pipe(
      v.array(v.pipe(v.string(), v.minLength(1, "expected a file path"))),
      v.minLength(1, "expected at least one path"),
    ),
  ], (issue) => `expected a file path or an array of file paths, got ${got(issue.input)}`),
  v.description(
    "KumoMTA sources-helper file(s) (TOML, or JSON when the name ends in .json) with [source.NAME] and " +
      "[pool.NAME.SOURCE] tables, as read by KumoMTA's policy-extras.sources; a relative path is relative to " +
      "this config file. Their sources and pools add to sources and pools. MTA-only keys (name, ehlo_domain, " +
      "remote_port, ttl) are ignored with a notice, as in sources.",
  ),
);

/** The loaded form of one source. */
export type SourceConfig = v.InferOutput<typeof SourceSchema>;
