/**
 * Listen addresses: `"IP:PORT"` with an IP literal (IPv6 in brackets, as in
 * `"[::1]:1080"`), the form of KumoMTA's `listen` option.
 *
 * @module
 */

import * as v from "valibot";
import ipaddr from "ipaddr.js";
import { got } from "./messages.ts";

/** A parsed `listen` value. */
export interface ListenAddress {
  /** IP literal without brackets, e.g. `"127.0.0.1"` or `"::1"`. */
  hostname: string;
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
 * // { ok: true, address: { hostname: "::1", port: 1080, text: "[::1]:1080" } }
 * parseListenAddress("localhost:1080");
 * // { ok: false, reason: '"localhost" is not an IP address literal' }
 * ```
 */
export function parseListenAddress(text: string): ListenParseResult {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return { ok: false, reason: 'missing "]" after the IPv6 address' };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest === "") return { ok: false, reason: 'missing ":PORT"' };
    if (!rest.startsWith(":")) {
      return { ok: false, reason: `unexpected ${JSON.stringify(rest)} after "]"` };
    }
    portText = rest.slice(1);
    if (!ipaddr.IPv6.isValid(host)) {
      return { ok: false, reason: `${JSON.stringify(host)} is not an IPv6 address` };
    }
  } else {
    const colons = text.split(":").length - 1;
    if (colons === 0) return { ok: false, reason: 'missing ":PORT"' };
    if (colons > 1) {
      return {
        ok: false,
        reason: 'an IPv6 address must be written in brackets, as in "[::1]:1080"',
      };
    }
    const colon = text.indexOf(":");
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (!ipaddr.IPv4.isValidFourPartDecimal(host)) {
      const what = /^[0-9.]+$/.test(host)
        ? "is not an IPv4 address"
        : "is not an IP address literal (host names are not allowed)";
      return { ok: false, reason: `${JSON.stringify(host)} ${what}` };
    }
  }
  if (!/^\d{1,5}$/.test(portText)) {
    return {
      ok: false,
      reason: portText === ""
        ? "missing the port number"
        : `port ${JSON.stringify(portText)} is not a number`,
    };
  }
  const port = Number(portText);
  if (port > 65535) return { ok: false, reason: `port ${port} is above 65535` };
  return { ok: true, address: { hostname: host, port, text } };
}

/**
 * Format an address as `"IP:PORT"`, bracketing IPv6 (`"[::1]:1080"`); the
 * inverse of {@linkcode parseListenAddress} (up to IPv6 spelling).
 *
 * @param addr `hostname` is an IP literal without brackets; `port` 0-65535
 * @example
 * ```ts
 * formatListen({ hostname: "::1", port: 1080 }); // "[::1]:1080"
 * ```
 */
export function formatListen(addr: { hostname: string; port: number }): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Canonical spelling of a parsed address, for duplicate detection:
 * `"[::1]:1080"` and `"[0:0::1]:1080"` give the same key.
 */
export function listenKey(addr: { hostname: string; port: number }): string {
  const ip = ipaddr.parse(addr.hostname).toNormalizedString();
  return formatListen({ hostname: ip, port: addr.port });
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
      return result.ok ? result.address : { hostname: "", port: 0, text };
    }),
  );
}
