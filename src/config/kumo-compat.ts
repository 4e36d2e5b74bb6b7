/**
 * What a KumoProxy (KumoMTA) user's config carries that proxy-server accepts
 * but does not use, and the one thing it needs from the network at load
 * time:
 *
 * - {@linkcode kumoNotices}: one notice for `use_splice` on any proxy
 *   listener (the words `--no-splice` gets), one naming the KumoMTA-only
 *   keys of `sources` and `pools` (`name`, `ehlo_domain`, `remote_port`,
 *   `ttl`), which the schema accepts and drops;
 * - {@linkcode resolveListenHosts}: a proxy listener `listen` of
 *   `"HOST:PORT"`, resolved once (honouring `/etc/hosts`) into one listener
 *   per address, each keeping the configured text as its label.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import type { ConfigProblem } from "./errors.ts";
import type { ConfigIo } from "./io.ts";
import { listenKey } from "./schema/address.ts";
import type { Config } from "./schema/index.ts";
import { IGNORED_POOL_KEYS, IGNORED_SOURCE_KEYS } from "./schema/sources.ts";

/** The notice `use_splice` gets; the same words as the `--no-splice` flag's. */
export const USE_SPLICE_NOTICE = "use_splice is accepted for KumoProxy compatibility and has no effect here";

/** `value` as a plain object, or `undefined`. */
function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/**
 * The notices a config value earns for KumoProxy keys it accepts and
 * ignores: at most one for `use_splice` (whichever listeners set it, true or
 * false) and at most one naming every ignored key of `sources` and `pools`
 * with the names that carry it.
 *
 * @param value the config document as read (before validation)
 * @param file the config's name, leading the notice
 * @returns the notice lines (without a `notice:` prefix)
 * @example
 * ```ts
 * kumoNotices({ proxy_listeners: [{ listen: "0.0.0.0:1080", use_splice: true }] }, "proxy.json");
 * // ["proxy.json: use_splice is accepted for KumoProxy compatibility and has no effect here"]
 * ```
 */
export function kumoNotices(value: unknown, file: string): string[] {
  const config = record(value);
  if (config === undefined) return [];
  const notices: string[] = [];
  const listeners = Array.isArray(config.proxy_listeners) ? config.proxy_listeners : [];
  if (listeners.some((listener) => record(listener)?.use_splice !== undefined)) {
    notices.push(`${file}: ${USE_SPLICE_NOTICE}`);
  }
  const ignored: string[] = [];
  const collect = (what: "source" | "pool", entries: unknown, keys: readonly string[]) => {
    const byKey = new Map<string, string[]>();
    for (const [name, entry] of Object.entries(record(entries) ?? {})) {
      for (const key of keys) {
        if (record(entry)?.[key] !== undefined) byKey.set(key, [...(byKey.get(key) ?? []), JSON.stringify(name)]);
      }
    }
    for (const [key, names] of byKey) ignored.push(`"${key}" (in ${what} ${names.join(", ")})`);
  };
  collect("source", config.sources, IGNORED_SOURCE_KEYS);
  collect("pool", config.pools, IGNORED_POOL_KEYS);
  if (ignored.length > 0) {
    notices.push(`${file}: ignoring the KumoMTA keys that mean nothing to a proxy: ${ignored.join(", ")}`);
  }
  return notices;
}

/** One address of a host name, as `node:dns` `lookup` gives it. */
export interface ResolvedAddress {
  /** An IP literal. */
  address: string;
  /** 4 or 6. */
  family: number;
}

/** Resolves a host name to all its addresses (`ConfigIo.lookup`, or `node:dns` by default). */
export type HostLookup = (host: string) => Promise<ResolvedAddress[]>;

/** `node:dns/promises` `lookup(host, { all: true })`: the system resolver, so `/etc/hosts` applies. */
export const systemLookup: HostLookup = (host) => lookup(host, { all: true });

/**
 * Resolve every proxy listener whose `listen` is `"HOST:PORT"` (its
 * `hostName` is set) into one listener per distinct address, in resolver
 * order and in place of the original; `text` stays as configured (the
 * `listener` metrics label) and `hostName` stays set. Then check that no two
 * listeners bind the same address and port (port 0 excepted).
 *
 * @param config the validated config; `proxy_listeners` is replaced in place
 * @param file the config's name, for problems
 * @param io `lookup`, when set, replaces the system resolver (tests)
 * @returns problems at `$.proxy_listeners[N].listen`: a name that does not
 *   resolve (`cannot resolve "x.invalid": ENOTFOUND ...`) or that resolves to
 *   an address another listener binds
 * @example
 * ```ts
 * // { listen: "localhost:1080" } with /etc/hosts "127.0.0.1 localhost" and "::1 localhost" becomes
 * // { listen: { host: "127.0.0.1", port: 1080, text: "localhost:1080", hostName: "localhost" } } and
 * // { listen: { host: "::1", port: 1080, text: "localhost:1080", hostName: "localhost" } }
 * await resolveListenHosts(config, "proxy.json", io);
 * ```
 */
export async function resolveListenHosts(
  config: Config,
  file: string,
  io: Pick<ConfigIo, "lookup">,
): Promise<ConfigProblem[]> {
  const resolve = io.lookup ?? systemLookup;
  if (!config.proxy_listeners.some((listener) => listener.listen.hostName !== undefined)) return [];
  const problems: ConfigProblem[] = [];
  const expanded: { index: number; listener: Config["proxy_listeners"][number] }[] = [];
  for (const [index, listener] of config.proxy_listeners.entries()) {
    const name = listener.listen.hostName;
    if (name === undefined) {
      expanded.push({ index, listener });
      continue;
    }
    let addresses: ResolvedAddress[];
    try {
      addresses = await resolve(name);
      if (addresses.length === 0) throw new Error("no addresses");
    } catch (error) {
      const why = (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error));
      problems.push({
        file,
        path: `$.proxy_listeners[${index}].listen`,
        message: `cannot resolve ${JSON.stringify(name)}: ${why}`,
      });
      continue;
    }
    const seen = new Set<string>();
    for (const { address } of addresses) {
      if (seen.has(address)) continue;
      seen.add(address);
      expanded.push({ index, listener: { ...listener, listen: { ...listener.listen, host: address } } });
    }
  }
  const first = new Map<string, { index: number; address: string }>();
  for (const { index, listener } of expanded) {
    const { host, port, text } = listener.listen;
    if (port === 0) continue;
    const key = listenKey({ host, port });
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, { index, address: host });
      continue;
    }
    if (earlier.index === index) continue;
    problems.push({
      file,
      path: `$.proxy_listeners[${index}].listen`,
      message: `${
        JSON.stringify(text)
      } resolves to ${host}, already bound by the proxy listener at index ${earlier.index}`,
    });
  }
  if (problems.length === 0) config.proxy_listeners = expanded.map(({ listener }) => listener);
  return problems;
}
