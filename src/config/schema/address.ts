/**
 * Addresses in the config: listen addresses, `"IP:PORT"` with an IP literal
 * (IPv6 in brackets, as in `"[::1]:1080"`), the form of KumoMTA's `listen`
 * option; and upstream server addresses, `"HOST:PORT"` where HOST may also be
 * a DNS name (`socks5_proxy_server`, `ha_proxy_server`). Both are read by
 * `parseHostPort` of `src/runtime/`.
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
  /** The string as written in the config; the metrics `listener` label. */
  text: string;
}

/**
 * Outcome of {@linkcode parseListenAddress}: the address, or why the text is
 * not one (a phrase such as `missing ":PORT"`).
 */
export type ListenParseResult =
  | { ok: true; address: ListenAddress }
  | { ok: false; reason: string };

/**
 * Approximate grammar of `"IP:PORT"` for the JSON Schema `pattern` (editors
 * and CI validators); {@linkcode parseListenAddress} is the exact rule.
 */
export const LISTEN_PATTERN =
  "^(?:\\d{1,3}(?:\\.\\d{1,3}){3}|\\[[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?\\]):\\d{1,5}$";

/**
 * Parse `"IP:PORT"` (`"0.0.0.0:1080"`, `"[::1]:1080"`). The IP must be a
 * literal (IPv4 dotted quad, or IPv6 inside brackets); the port 0-65535.
 *
 * @example
 * ```ts
 * parseListenAddress("[::1]:1080");
 * // { ok: true, address: { host: "::1", port: 1080, text: "[::1]:1080" } }
 * parseListenAddress("localhost:1080");
 * // { ok: false, reason: '"localhost" is not an IP address literal' }
 * ```
 */
export function parseListenAddress(text: string): ListenParseResult {
  const parsed = parseHostPort(text);
  if (!parsed.ok) return parsed;
  const { host, port } = parsed;
  if (!isIpLiteral(host)) {
    const what = /^[0-9.]+$/.test(host) ? "is not an IPv4 address" : "is not an IP address literal (host names are not allowed)";
    return { ok: false, reason: `${JSON.stringify(host)} ${what}` };
  }
  return { ok: true, address: { host, port, text } };
}

/**
 * Canonical spelling of a parsed address, for duplicate detection:
 * `"[::1]:1080"` and `"[0:0::1]:1080"` give the same key.
 */
export function listenKey(addr: { host: string; port: number }): string {
  const ip = ipaddr.parse(addr.host).toNormalizedString();
  return formatHostPort({ host: ip, port: addr.port });
}

/** Problem text for a string that is not `"IP:PORT"`. */
function expectedAddress(input: unknown, reason?: string): string {
  return `expected an address "IP:PORT" such as "0.0.0.0:1080" or "[::1]:1080", got ${
    got(input)
  }${reason ? ` (${reason})` : ""}`;
}

/**
 * A `listen`-style key: `"IP:PORT"` on input; {@linkcode ListenAddress} on
 * output. The JSON Schema gets `type: string`, an approximate `pattern`
 * ({@linkcode LISTEN_PATTERN}) and the description.
 *
 * @param description the key's documentation
 */
export function listenAddress(description: string) {
  return v.pipe(
    v.string((issue) => expectedAddress(issue.input)),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const result = parseListenAddress(dataset.value);
      if (!result.ok) addIssue({ message: expectedAddress(dataset.value, result.reason) });
    }),
    v.metadata({ pattern: LISTEN_PATTERN }),
    v.description(description),
    v.examples(["127.0.0.1:1080", "0.0.0.0:1080", "[::]:1080"]),
    v.transform((text: string): ListenAddress => {
      const result = parseListenAddress(text);
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
