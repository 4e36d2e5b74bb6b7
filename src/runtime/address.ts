/**
 * The one home of `HOST:PORT` text: formatting with brackets around IPv6
 * literals (RFC 3986 §3.2.2 style, as curl, KumoMTA and every log here write
 * it), parsing it back, and telling an IP literal from a host name. Every
 * address type of the project (`NetAddr`, `SocksAddress`, the config's
 * listen and server addresses) names its host field `host`, so one function
 * serves them all.
 *
 * @example
 * ```ts
 * formatHostPort({ host: "::1", port: 1080 }); // "[::1]:1080"
 * parseHostPort("[::1]:1080"); // { ok: true, host: "::1", port: 1080 }
 * isIpLiteral("mx.example.com"); // false
 * ```
 *
 * @module
 */
import { isIP } from "node:net";

/** Anything with a host (an IP literal without brackets, or a DNS name) and a TCP port. */
export interface HostPort {
  /** IP literal without brackets (`"::1"`, `"10.0.0.1"`) or a DNS name. */
  host: string;
  /** TCP port, 0-65535. */
  port: number;
}

/**
 * `HOST:PORT`, with brackets around an IPv6 literal:
 * `{ host: "::1", port: 25 }` → `"[::1]:25"`, `{ host: "mx.example", port: 25 }`
 * → `"mx.example:25"`.
 */
export function formatHostPort(addr: HostPort): string {
  return addr.host.includes(":") ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** Whether `text` is an IPv4 dotted quad or an IPv6 literal (no brackets), by `node:net` `isIP`. */
export function isIpLiteral(text: string): boolean {
  return isIP(text) !== 0;
}

/** 4 or 6 for an IP literal, 0 for anything else (`node:net` `isIP`). */
export function ipFamily(text: string): 0 | 4 | 6 {
  return isIP(text) as 0 | 4 | 6;
}

/** What {@linkcode parseHostPort} gives: the parts, or why the text is not `HOST:PORT`. */
export type HostPortParse = { ok: true; host: string; port: number } | { ok: false; reason: string };

/**
 * Parse `HOST:PORT`: `"10.0.0.1:25"`, `"[2001:db8::1]:1080"`, `"mx.example:25"`.
 * An IPv6 literal must be bracketed; the port is 0-65535 in decimal. The host
 * is not checked beyond that (callers that need an IP literal check it with
 * {@linkcode isIpLiteral}); a bracketed host must be an IPv6 literal.
 *
 * @returns `{ ok: false, reason }` with a reason for a person, e.g.
 *   `'an IPv6 address must be written in brackets, as in "[::1]:1080"'`.
 */
export function parseHostPort(text: string): HostPortParse {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return { ok: false, reason: 'missing "]" after the IPv6 address' };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest === "") return { ok: false, reason: 'missing ":PORT"' };
    if (!rest.startsWith(":")) return { ok: false, reason: `unexpected ${JSON.stringify(rest)} after "]"` };
    portText = rest.slice(1);
    if (isIP(host) !== 6) return { ok: false, reason: `${JSON.stringify(host)} is not an IPv6 address` };
  } else {
    const colon = text.indexOf(":");
    if (colon < 0) return { ok: false, reason: 'missing ":PORT"' };
    if (text.indexOf(":", colon + 1) >= 0) {
      return { ok: false, reason: 'an IPv6 address must be written in brackets, as in "[::1]:1080"' };
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === "") return { ok: false, reason: "missing the host before the port" };
  }
  if (!/^\d{1,5}$/.test(portText)) {
    return {
      ok: false,
      reason: portText === "" ? "missing the port number" : `port ${JSON.stringify(portText)} is not a number`,
    };
  }
  const port = Number(portText);
  if (port > 65535) return { ok: false, reason: `port ${port} is above 65535` };
  return { ok: true, host, port };
}
