/**
 * The rules between the keys of one egress source: keys that exclude each
 * other and keys that only work together with another. One set, used by the
 * egress library (the {@linkcode EgressSource} constructor refuses a spec
 * that breaks one) and by the config schema (which reports each problem at
 * `$.sources.NAME.KEY`). Pure: no I/O, no imports.
 *
 * @example
 * ```ts
 * sourceSpecProblems({ ha_proxy_server: { host: "127.0.0.1", port: 1080 } });
 * // [{ key: "ha_proxy_server",
 * //    message: '"ha_proxy_server" needs "ha_proxy_source_address" (the source address of the PROXY header)' }]
 * ```
 *
 * @module
 */

/** The keys of an egress source the rules look at (KumoMTA's names). */
export type SourceSpecKey =
  | "source_address"
  | "socks5_proxy_server"
  | "socks5_proxy_source_address"
  | "socks5_proxy_username"
  | "socks5_proxy_password"
  | "ha_proxy_server"
  | "ha_proxy_source_address"
  | "suspend_when_proxy_unhealthy"
  | "suspend_when_unplumbed"
  | "health_check"
  | "connect_timeout";

/**
 * What the rules read of a source: only whether each key is present (not
 * `undefined`), so the library's `EgressSourceSpec`, the config schema's
 * loaded source and a raw JSON object all fit.
 */
export type SourceSpecShape = { readonly [K in SourceSpecKey]?: unknown };

/** One broken rule: the key it is about and a sentence for a person. */
export interface SourceSpecProblem {
  /** The key the problem is about (the config reports it at `$.sources.NAME.KEY`). */
  key: SourceSpecKey;
  /** What is wrong, naming the keys in double quotes, e.g. `'"suspend_when_unplumbed" needs "source_address"'`. */
  message: string;
}

/**
 * Every rule `spec` breaks, in a fixed order; empty when the spec is
 * usable:
 * - `socks5_proxy_server` and `ha_proxy_server` exclude each other (one way out);
 * - `ha_proxy_server` and `ha_proxy_source_address` go together;
 * - `socks5_proxy_source_address`, `socks5_proxy_username` and
 *   `socks5_proxy_password` need `socks5_proxy_server`;
 * - `socks5_proxy_username` and `socks5_proxy_password` go together;
 * - `suspend_when_proxy_unhealthy`, `health_check` and `connect_timeout` need a proxy;
 * - `suspend_when_unplumbed` needs `source_address`.
 *
 * @param spec the source's keys; only presence is looked at
 * @returns the problems, each with the key it is about
 * @example
 * ```ts
 * sourceSpecProblems({ socks5_proxy_username: "u" }).map((p) => p.key);
 * // ["socks5_proxy_username", "socks5_proxy_username"]
 * ```
 */
export function sourceSpecProblems(spec: SourceSpecShape): SourceSpecProblem[] {
  const has = (key: SourceSpecKey) => spec[key] !== undefined;
  const problems: SourceSpecProblem[] = [];
  const add = (key: SourceSpecKey, message: string) => problems.push({ key, message });
  const proxy = has("socks5_proxy_server") || has("ha_proxy_server");
  if (has("socks5_proxy_server") && has("ha_proxy_server")) {
    add("ha_proxy_server", 'a source has one way out: give "socks5_proxy_server" or "ha_proxy_server", not both');
  }
  if (has("ha_proxy_server") && !has("ha_proxy_source_address")) {
    add(
      "ha_proxy_server",
      '"ha_proxy_server" needs "ha_proxy_source_address" (the source address of the PROXY header)',
    );
  }
  if (has("ha_proxy_source_address") && !has("ha_proxy_server")) {
    add("ha_proxy_source_address", '"ha_proxy_source_address" needs "ha_proxy_server"');
  }
  for (const key of ["socks5_proxy_source_address", "socks5_proxy_username", "socks5_proxy_password"] as const) {
    if (has(key) && !has("socks5_proxy_server")) add(key, `"${key}" needs "socks5_proxy_server"`);
  }
  if (has("socks5_proxy_username") !== has("socks5_proxy_password")) {
    add(
      has("socks5_proxy_username") ? "socks5_proxy_username" : "socks5_proxy_password",
      '"socks5_proxy_username" and "socks5_proxy_password" go together',
    );
  }
  if (has("suspend_when_proxy_unhealthy") && !proxy) {
    add(
      "suspend_when_proxy_unhealthy",
      '"suspend_when_proxy_unhealthy" needs "socks5_proxy_server" or "ha_proxy_server"',
    );
  }
  if (has("suspend_when_unplumbed") && !has("source_address")) {
    add("suspend_when_unplumbed", '"suspend_when_unplumbed" needs "source_address"');
  }
  if (has("health_check") && !proxy) {
    add("health_check", '"health_check" needs "socks5_proxy_server" or "ha_proxy_server" (there is no proxy to check)');
  }
  if (has("connect_timeout") && !proxy) {
    add(
      "connect_timeout",
      '"connect_timeout" needs "socks5_proxy_server" or "ha_proxy_server" (a direct connect is bounded by the listener timeout)',
    );
  }
  return problems;
}
