/**
 * Addresses in the config: listen addresses, `"IP:PORT"` with an IP literal
 * (IPv6 in brackets, as in `"[::1]:1080"`), the form of KumoMTA's `listen`
 * option, or for proxy listeners also `"HOST:PORT"` (resolved by the loader,
 * `src/config/kumo-compat.ts`); and upstream server addresses, `"HOST:PORT"`
 * where HOST may also be a DNS name (`socks5_proxy_server`,
 * `ha_proxy_server`). Both are read by `parseHostPort` of `src/runtime/`.
 * Each grammar also has a JSON Schema `pattern` (IPv4 parts 0-255 and ports
 * 0-65535 exact) with the sentence an editor shows when it does not match.
 *
 * @module
 */

import * as v from "valibot";
import ipaddr from "ipaddr.js";
import { formatHostPort, isIpLiteral, parseHostPort } from "../../runtime/index.ts";
import { got } from "./messages.ts";

/** A parsed `listen` value. */
export interface ListenAddress {
  /** IP literal without brackets, e.g. `"127.0.0.1"` or `"::1"`. */
  host: string;
  /** TCP port 0-65535; 0 asks the kernel for any free port. */
  port: number;
  /** The string as written in the config (what access rules match; the metrics label is the bound address). */
  text: string;
  /**
   * The host name `text` names, when `listen` was `"NAME:PORT"`: the loader
   * resolves it once at start into one listener per address, each with
   * `host` one of the addresses and `hostName` the name; absent for an IP
   * literal.
   */
  hostName?: string;
}

/**
 * Outcome of {@linkcode parseListenAddress}: the address, or why the text is
 * not one (a phrase such as `missing ":PORT"`).
 */
export type ListenParseResult =
  | { ok: true; address: ListenAddress }
  | { ok: false; reason: string };

/** A TCP port 0-65535 in decimal (leading zeros allowed, 5 digits at most), as a regex fragment. */
export const PORT_FRAGMENT = "(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d\\d|6[0-4]\\d{3}|[0-5]?\\d{1,4})";

/** An IPv4 dotted quad with each part 0-255, as a regex fragment. */
const IPV4_FRAGMENT = "(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";

/** A bracketed IPv6 literal (approximately), optionally with a zone, as a regex fragment. */
const IPV6_FRAGMENT = "\\[[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?\\]";

/** A DNS host name (RFC 1123 labels; `_` tolerated; not all digits), as a regex fragment. */
const HOST_NAME_FRAGMENT =
  "(?=[^:]{1,253}:)(?![0-9.]+:)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.?";

/**
 * Grammar of `"IP:PORT"` for the JSON Schema `pattern` (editors and CI
 * validators): the IPv4 parts 0-255 and the port 0-65535 are exact, the
 * IPv6 literal approximate; {@linkcode parseListenAddress} is the exact rule.
 */
export const LISTEN_PATTERN = `^(?:${IPV4_FRAGMENT}|${IPV6_FRAGMENT}):${PORT_FRAGMENT}$`;

/**
 * Grammar of a proxy listener's `listen` for the JSON Schema: `"IP:PORT"`
 * ({@linkcode LISTEN_PATTERN}) or `"NAME:PORT"` with a host name, resolved
 * at start.
 */
export const LISTEN_OR_NAME_PATTERN = `^(?:${IPV4_FRAGMENT}|${IPV6_FRAGMENT}|${HOST_NAME_FRAGMENT}):${PORT_FRAGMENT}$`;

/** Grammar of `"HOST:PORT"` of an upstream server for the JSON Schema (port 1-65535 exact). */
export const SERVER_ADDRESS_PATTERN =
  `^(?:${IPV4_FRAGMENT}|${IPV6_FRAGMENT}|${HOST_NAME_FRAGMENT}):(?!0+$)${PORT_FRAGMENT}$`;

/** What an editor shows for a `listen` that does not match {@linkcode LISTEN_PATTERN}. */
export const LISTEN_PATTERN_MESSAGE =
  'Expected "IP:PORT" with an IP address and a port 0-65535, such as "0.0.0.0:1080", "127.0.0.1:1080" or ' +
  '"[::1]:1080" (IPv6 in brackets).';

/** What an editor shows for a proxy listener `listen` that does not match {@linkcode LISTEN_OR_NAME_PATTERN}. */
export const LISTEN_OR_NAME_PATTERN_MESSAGE =
  'Expected "IP:PORT" or "HOST:PORT" with a port 0-65535, such as "0.0.0.0:1080", "[::1]:1080" or ' +
  '"localhost:1080" (IPv6 in brackets; a host name is resolved at start and every address bound).';

/** What an editor shows for an upstream `"HOST:PORT"` that does not match {@linkcode SERVER_ADDRESS_PATTERN}. */
export const SERVER_ADDRESS_PATTERN_MESSAGE =
  'Expected "HOST:PORT" with a port 1-65535, such as "proxy.example.com:1080", "10.0.0.5:1080" or ' +
  '"[2001:db8::5]:1080".';

/**
 * Parse `"IP:PORT"` (`"0.0.0.0:1080"`, `"[::1]:1080"`). The IP must be a
 * literal (IPv4 dotted quad, or IPv6 inside brackets); the port 0-65535.
 * With `hostNames`, `"NAME:PORT"` is accepted too, with `hostName` set (and
 * `host` the name, until the loader resolves it).
 *
 * @param text the configured value
 * @param options `hostNames`: accept a DNS host name as the host
 *
 * @example
 * ```ts
 * parseListenAddress("[::1]:1080");
 * // { ok: true, address: { host: "::1", port: 1080, text: "[::1]:1080" } }
 * parseListenAddress("localhost:1080");
 * // { ok: false, reason: '"localhost" is not an IP address literal' }
 * ```
 */
export function parseListenAddress(text: string, options: { hostNames?: boolean } = {}): ListenParseResult {
  const parsed = parseHostPort(text);
  if (!parsed.ok) return parsed;
  const { host, port } = parsed;
  const numeric = /^[0-9.]+$/.test(host);
  if (options.hostNames && !text.startsWith("[") && !isIpLiteral(host) && !numeric) {
    if (HOST_NAME.test(host)) return { ok: true, address: { host, port, text, hostName: host } };
    return { ok: false, reason: `${JSON.stringify(host)} is neither an IP address nor a host name` };
  }
  if (!isIpLiteral(host)) {
    const what = numeric ? "is not an IPv4 address" : "is not an IP address literal (host names are not allowed)";
    return { ok: false, reason: `${JSON.stringify(host)} ${what}` };
  }
  return { ok: true, address: { host, port, text } };
}

/**
 * Canonical spelling of a parsed address, for duplicate detection:
 * `"[::1]:1080"` and `"[0:0::1]:1080"` give the same key.
 */
export function listenKey(addr: { host: string; port: number }): string {
  // A host name not resolved yet compares by its lower-case spelling.
  const ip = ipaddr.isValid(addr.host) ? ipaddr.parse(addr.host).toNormalizedString() : addr.host.toLowerCase();
  return formatHostPort({ host: ip, port: addr.port });
}

/** Problem text for a string that is not `"IP:PORT"`. */
function expectedAddress(input: unknown, reason?: string): string {
  return `expected an address "IP:PORT" such as "0.0.0.0:1080" or "[::1]:1080", got ${got(input)}${
    reason ? ` (${reason})` : ""
  }`;
}

/**
 * A `listen`-style key: `"IP:PORT"` on input (with `hostNames`, also
 * `"NAME:PORT"`); {@linkcode ListenAddress} on output. The JSON Schema gets
 * `type: string`, a `pattern` ({@linkcode LISTEN_PATTERN} or
 * {@linkcode LISTEN_OR_NAME_PATTERN}) with its `patternErrorMessage`, and the
 * description.
 *
 * @param description the key's documentation
 * @param options `hostNames`: accept a host name, which the config loader
 *   resolves (proxy listeners)
 */
export function listenAddress(description: string, options: { hostNames?: boolean } = {}) {
  const hostNames = options.hostNames === true;
  return v.pipe(
    v.string((issue) => expectedAddress(issue.input)),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const result = parseListenAddress(dataset.value, { hostNames });
      if (!result.ok) addIssue({ message: expectedAddress(dataset.value, result.reason) });
    }),
    v.metadata(
      hostNames
        ? { pattern: LISTEN_OR_NAME_PATTERN, patternErrorMessage: LISTEN_OR_NAME_PATTERN_MESSAGE }
        : { pattern: LISTEN_PATTERN, patternErrorMessage: LISTEN_PATTERN_MESSAGE },
    ),
    v.description(description),
    v.examples(["127.0.0.1:1080", "0.0.0.0:1080", "[::]:1080"]),
    v.transform((text: string): ListenAddress => {
      const result = parseListenAddress(text, { hostNames });
      // Unreachable when not ok: the rawCheck above reported it and valibot
      // skips transforms after a problem.
      return result.ok ? result.address : { host: "", port: 0, text };
    }),
  );
}

/** A DNS host name (RFC 1123 labels; `_` tolerated). */
const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

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
 * Parse `"HOST:PORT"` with `parseHostPort`: `HOST` an IPv4 literal,
 * `[IPv6]`, or a DNS name; `port` 1-65535.
 *
 * @returns the address, or why `text` is not one
 * @example
 * ```ts
 * parseServerAddress("proxy.example.com:1080");
 * // { ok: true, address: { host: "proxy.example.com", port: 1080, text: "proxy.example.com:1080" } }
 * parseServerAddress("proxy.example.com"); // { ok: false, reason: 'missing ":PORT"' }
 * ```
 */
export function parseServerAddress(
  text: string,
): { ok: true; address: ServerAddressConfig } | { ok: false; reason: string } {
  const parsed = parseHostPort(text);
  if (!parsed.ok) return parsed;
  const { host, port } = parsed;
  // A bracketed host is an IPv6 literal (parseHostPort checked it); any other is IPv4 or a name.
  if (!text.startsWith("[") && !isIpLiteral(host) && !HOST_NAME.test(host)) {
    return { ok: false, reason: `${JSON.stringify(host)} is neither an IPv4 address nor a host name` };
  }
  if (port < 1) return { ok: false, reason: `port ${port} is not 1-65535` };
  return { ok: true, address: { host, port, text } };
}

/**
 * A `host:port` key (`socks5_proxy_server`, `ha_proxy_server`): `"HOST:PORT"`
 * on input, {@linkcode ServerAddressConfig} on output.
 *
 * @param description the key's documentation
 */
export function serverAddress(description: string) {
  const expected = (input: unknown, reason?: string) =>
    `expected "HOST:PORT" such as "proxy.example.com:1080", "10.0.0.5:1080" or "[2001:db8::5]:1080", got ${got(input)}${
      reason ? ` (${reason})` : ""
    }`;
  return v.pipe(
    v.string((issue) => expected(issue.input)),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const result = parseServerAddress(dataset.value);
      if (!result.ok) addIssue({ message: expected(dataset.value, result.reason) });
    }),
    v.metadata({ pattern: SERVER_ADDRESS_PATTERN, patternErrorMessage: SERVER_ADDRESS_PATTERN_MESSAGE }),
    v.description(description),
    v.examples(["proxy.example.com:1080", "10.0.0.5:1080"]),
    v.transform((text: string): ServerAddressConfig => {
      const result = parseServerAddress(text);
      return result.ok ? result.address : { host: "", port: 0, text };
    }),
  );
}
