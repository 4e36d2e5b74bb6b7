/**
 * `sources` and `pools`: egress sources and weighted pools, with KumoMTA's
 * option names (`kumo.make_egress_source`, `kumo.make_egress_pool`), so a
 * KumoMTA operator recognises them. The same source schema validates the
 * `[source."NAME"]` tables of KumoMTA sources-helper files (`sources_file`).
 *
 * Output shapes match the egress library's `EgressSourceSpec` /
 * `EgressPoolSpec`: durations in seconds, `host:port` parsed, triggers as
 * `"Immediate"` or `{ limit, period }`, secrets resolved.
 *
 * @module
 */

import * as v from "valibot";
import ipaddr from "ipaddr.js";
import { isIpLiteral } from "../../runtime/index.ts";
import { duration } from "./duration.ts";
import { got, utf8Length } from "./messages.ts";
import { strictObject } from "./object.ts";
import { secret } from "./secret.ts";


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

/** A DNS host name (RFC 1123 labels; `_` tolerated). */
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** A parsed `host:port` of an upstream proxy. */
export interface ServerAddressConfig {
  /** IP literal (no brackets) or DNS name. */
  host: string;
  /** TCP port, 1-65535. */
  port: number;
  /** As written in the config. */
  text: string;
}

/**
 * Parse `"host:port"`: `host` an IPv4 literal, `[IPv6]`, or a DNS name;
 * `port` 1-65535.
 *
 * @returns the address, or why `text` is not one
 * @example
 * ```ts
 * parseServerAddress("proxy.example.com:1080"); // { ok: true, address: { host: "proxy.example.com", port: 1080, ... } }
 * ```
 */
export function parseServerAddress(
  text: string,
): { ok: true; address: ServerAddressConfig } | { ok: false; reason: string } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return { ok: false, reason: 'expected "HOST:PORT" (an IPv6 address in brackets)' };
  const host = m[1] ?? m[2];
  if (m[1] !== undefined && !ipaddr.IPv6.isValid(host)) {
    return { ok: false, reason: `${JSON.stringify(host)} is not an IPv6 address` };
  }
  if (m[2] !== undefined && !ipaddr.IPv4.isValidFourPartDecimal(host) && !HOST_NAME.test(host)) {
    return { ok: false, reason: `${JSON.stringify(host)} is neither an IPv4 address nor a host name` };
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, reason: `port ${port} is not 1-65535` };
  return { ok: true, address: { host, port, text } };
}

/** A `host:port` key; output {@linkcode ServerAddressConfig}. */
function serverAddress(description: string) {
  const expected = (input: unknown, reason?: string) =>
    `expected "HOST:PORT" such as "proxy.example.com:1080", "10.0.0.5:1080" or "[2001:db8::5]:1080", got ${
      got(input)
    }${reason ? ` (${reason})` : ""}`;
  return v.pipe(
    v.string((issue) => expected(issue.input)),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const result = parseServerAddress(dataset.value);
      if (!result.ok) addIssue({ message: expected(dataset.value, result.reason) });
    }),
    v.description(description),
    v.examples(["proxy.example.com:1080", "10.0.0.5:1080"]),
    v.transform((text: string): ServerAddressConfig => {
      const result = parseServerAddress(text);
      return result.ok ? result.address : { host: "", port: 0, text };
    }),
  );
}

/** Period units of a threshold, in seconds (KumoMTA's `ThrottleSpec` periods). */
const PERIOD_UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
  d: 86400,
  day: 86400,
};

/** Grammar of `"N/period"` (also the JSON Schema `pattern`). */
export const THRESHOLD_PATTERN = "^\\s*[0-9][0-9_,]*\\s*/\\s*[0-9]*\\s*(?:s|sec|second|m|min|minute|h|hr|hour|d|day)\\s*$";

/**
 * Parse a threshold `"N/period"` as KumoMTA's TSA shaping rules write it:
 * `N` failures (digits, `_` or `,` allowed as separators) per `period`, an
 * optional count and a unit (`s`, `m`, `h`, `d` and their long forms), e.g.
 * `"3/5m"` (3 in 5 minutes), `"10/hour"`, `"1_000/d"`.
 *
 * @returns `{ limit, period }` (period in seconds), or `undefined` when
 * `text` is not a threshold or its limit or period is 0.
 */
export function parseThreshold(text: string): { limit: number; period: number } | undefined {
  if (!new RegExp(THRESHOLD_PATTERN).test(text)) return undefined;
  const [limitText, periodText] = text.split("/");
  const limit = Number(limitText.trim().replace(/[_,]/g, ""));
  const m = /^\s*(\d*)\s*([a-z]+)\s*$/.exec(periodText)!;
  const period = (m[1] === "" ? 1 : Number(m[1])) * PERIOD_UNITS[m[2]];
  if (!Number.isSafeInteger(limit) || limit < 1 || period < 1) return undefined;
  return { limit, period };
}

const Trigger = v.union([
  v.pipe(v.literal("Immediate"), v.description("Fire on the first matching failure.")),
  v.pipe(strictObject({
    Threshold: v.pipe(
      v.string(),
      v.regex(new RegExp(THRESHOLD_PATTERN), (issue) =>
        `expected "N/period" such as "3/5m" or "10/hour", got ${got(issue.input)}`),
      v.check(
        (text) => parseThreshold(text) !== undefined,
        (issue) => `expected a limit and a period of at least 1, got ${got(issue.input)}`,
      ),
      v.description(
        'Fire once N matching failures fall inside a rolling window of the period: "3/5m" is 3 failures ' +
          "in 5 minutes (KumoMTA's TSA syntax: N, then an optional count and a unit s, m, h or d).",
      ),
      v.transform((text) => parseThreshold(text)!),
    ),
  }, '{ "Threshold": "N/period" }'), v.transform((trigger) => trigger.Threshold)),
], (issue) => `expected "Immediate" or { "Threshold": "N/period" }, got ${got(issue.input)}`);

/** `suspend_when_proxy_unhealthy` / `suspend_when_unplumbed`: KumoMTA's `SuspendOnFailure`. */
function suspendRule(description: string) {
  return v.pipe(
    strictObject({
      trigger: v.optional(
        v.pipe(
          Trigger,
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
  health_check: v.optional(HealthCheckSchema),
} as const;

/** Keys that only work together with another key, and keys that exclude each other. */
function sourceProblems(source: Record<string, unknown>): string[] {
  const has = (key: string) => source[key] !== undefined;
  const problems: string[] = [];
  const proxy = has("socks5_proxy_server") || has("ha_proxy_server");
  if (has("socks5_proxy_server") && has("ha_proxy_server")) {
    problems.push('a source has one way out: give "socks5_proxy_server" or "ha_proxy_server", not both');
  }
  if (has("ha_proxy_server") && !has("ha_proxy_source_address")) {
    problems.push('"ha_proxy_server" needs "ha_proxy_source_address" (the source address of the PROXY header)');
  }
  if (has("ha_proxy_source_address") && !has("ha_proxy_server")) {
    problems.push('"ha_proxy_source_address" needs "ha_proxy_server"');
  }
  for (const key of ["socks5_proxy_source_address", "socks5_proxy_username", "socks5_proxy_password"]) {
    if (has(key) && !has("socks5_proxy_server")) problems.push(`"${key}" needs "socks5_proxy_server"`);
  }
  if (has("socks5_proxy_username") !== has("socks5_proxy_password")) {
    problems.push('"socks5_proxy_username" and "socks5_proxy_password" go together');
  }
  if (has("suspend_when_proxy_unhealthy") && !proxy) {
    problems.push('"suspend_when_proxy_unhealthy" needs "socks5_proxy_server" or "ha_proxy_server"');
  }
  if (has("suspend_when_unplumbed") && !has("source_address")) {
    problems.push('"suspend_when_unplumbed" needs "source_address"');
  }
  if (has("health_check") && !proxy) {
    problems.push('"health_check" needs "socks5_proxy_server" or "ha_proxy_server" (there is no proxy to check)');
  }
  return problems;
}

/** One egress source, with the contradictions between its keys checked. */
export const SourceSchema = v.pipe(
  strictObject(SourceEntries, "an egress source"),
  v.rawCheck(({ dataset, addIssue }) => {
    const source = dataset.value as unknown;
    if (source === null || typeof source !== "object" || Array.isArray(source)) return;
    for (const message of sourceProblems(source as Record<string, unknown>)) addIssue({ message });
  }),
  v.description(
    "An egress source (KumoMTA: kumo.make_egress_source): direct (optionally from source_address), via an " +
      "upstream SOCKS5 proxy (socks5_proxy_server), or via HAProxy's PROXY protocol v2 (ha_proxy_server).",
  ),
);

/** A source or pool name: the `source` label of metrics and the key in the admin API. */
const NAME_PATTERN = /^[^\s/]{1,128}$/;

/** A record keyed by source or pool names. */
function namedRecord<T extends v.GenericSchema>(what: string, value: T) {
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

/** A pool weight: a non-negative whole number. */
const Weight = v.pipe(
  v.number(),
  v.integer((issue) => `expected a whole number, got ${got(issue.input)}`),
  v.minValue(0, (issue) => `expected 0 or more, got ${got(issue.input)}`),
  v.description("Relative share of the selections (3 and 1: three of four); 0 = never used. Default: 1."),
);

/** One pool entry. */
const PoolEntrySchema = strictObject({
  name: v.pipe(v.string(), v.minLength(1, "expected a source name"), v.description("Name of a source in sources.")),
  weight: v.optional(Weight, 1),
}, 'a pool entry { "name", "weight" }');

/** One pool. */
export const PoolSchema = strictObject({
  entries: v.pipe(
    v.array(PoolEntrySchema),
    v.description("The sources of the pool with their weights (KumoMTA: entries)."),
  ),
}, 'a pool { "entries": [...] }');

/** `pools`: name -> pool. */
export const PoolsSchema = v.pipe(
  namedRecord("pool", PoolSchema),
  v.description(
    "Egress pools by name (KumoMTA: kumo.make_egress_pool): weighted round robin over the entries, " +
      "skipping suspended sources. A proxy listener or a user names one with egress_pool. Default: none.",
  ),
);

/** The `egress_pool` key of proxy listeners and users. */
export function egressPoolKey(description: string) {
  return v.optional(v.pipe(v.string(), v.minLength(1, "expected a pool name"), v.description(description)));
}

/** `sources_file`: one path or a list of paths. */
export const SourcesFileSchema = v.pipe(
  v.union([
    v.pipe(v.string(), v.minLength(1, "expected a file path")),
    v.pipe(v.array(v.pipe(v.string(), v.minLength(1, "expected a file path"))), v.minLength(1, "expected at least one path")),
  ], (issue) => `expected a file path or an array of file paths, got ${got(issue.input)}`),
  v.description(
    "KumoMTA sources-helper file(s) (TOML, or JSON when the name ends in .json) with [source.NAME] and " +
      "[pool.NAME.SOURCE] tables, as read by KumoMTA's policy-extras.sources; a relative path is relative to " +
      "this config file. Their sources and pools add to sources and pools. MTA-only keys (ehlo_domain, " +
      "remote_port, ttl) are ignored with a notice.",
  ),
);

/** The loaded form of one source. */
export type SourceConfig = v.InferOutput<typeof SourceSchema>;
/** The loaded form of one pool. */
export type PoolConfig = v.InferOutput<typeof PoolSchema>;
