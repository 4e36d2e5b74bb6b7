/**
 * Listen addresses: `"IP:PORT"` with an IP literal (IPv6 in brackets, as in
 * `"[::1]:1080"`), the form of KumoMTA's `listen` option.
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
