/**
 * Which DOMAINNAME values of a request (RFC 1928 section 5) a resolver can
 * accept, checked before any runtime call: a name with a NUL byte makes
 * `Bun.connect` throw synchronously, and other bytes no resolver accepts
 * would only fail later, after a DNS round trip or a time-out.
 *
 * The rules are RFC 1035 section 2.3.4 lengths (a label is 1-63 bytes, a
 * name at most 253 bytes without its trailing dot) and the host name bytes
 * of RFC 1123 section 2.1 (letters, digits, hyphen, with dots between
 * labels), plus the underscore that service names (`_dmarc`, `_mta-sts`)
 * and some internal hosts use and resolvers pass through. A SOCKS client
 * sends internationalised names as A-labels (`xn--...`, RFC 5891), so a
 * byte above 0x7F is refused, not converted. One trailing dot (a fully
 * qualified name) is accepted; an empty label elsewhere is not. An IPv6
 * literal sent as a DOMAINNAME (some clients do) is accepted as it is.
 *
 * @module
 */
import ipaddr from "ipaddr.js";

/** Longest name in bytes, without the trailing dot (RFC 1035 section 2.3.4, 255 octets on the wire). */
export const MAX_DOMAIN_NAME_LENGTH = 253;
/** Longest label in bytes (RFC 1035 section 2.3.4). */
export const MAX_LABEL_LENGTH = 63;

/** Whether byte `c` may appear in a label: `A-Z a-z 0-9 - _`. */
function isLabelByte(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d ||
    c === 0x5f;
}

/** Whether `name` is an IPv6 literal written with hex digits, colons and dots only (no zone, no brackets). */
function isIpv6Literal(name: string): boolean {
  return /^[0-9A-Fa-f:.]+$/.test(name) && name.includes(":") && ipaddr.IPv6.isValid(name);
}

/**
 * Why no resolver would accept `name` as a host name, or `undefined` when
 * it is acceptable (see the module doc for the rules). `name` is the
 * DOMAINNAME as text; each UTF-16 code unit above 0x7F counts as refused.
 *
 * @example
 * ```ts
 * domainNameProblem("mx.example.com");   // undefined
 * domainNameProblem("example.com.");     // undefined (trailing dot)
 * domainNameProblem("evil\0.example");   // "byte 0x00 at offset 4 ..."
 * domainNameProblem("a..b");             // "empty label at offset 2"
 * ```
 */
export function domainNameProblem(name: string): string | undefined {
  if (name.length === 0) return "empty name";
  if (isIpv6Literal(name)) return undefined;
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  if (bare.length === 0) return "empty label at offset 0";
  if (bare.length > MAX_DOMAIN_NAME_LENGTH) {
    return `name is ${bare.length} bytes, more than ${MAX_DOMAIN_NAME_LENGTH}`;
  }
  let labelStart = 0;
  for (let i = 0; i <= bare.length; i++) {
    const c = i < bare.length ? bare.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const length = i - labelStart;
      if (length === 0) return `empty label at offset ${i}`;
      if (length > MAX_LABEL_LENGTH) {
        return `label at offset ${labelStart} is ${length} bytes, more than ${MAX_LABEL_LENGTH}`;
      }
      labelStart = i + 1;
    } else if (!isLabelByte(c)) {
      const shown = c <= 0xff ? `byte 0x${c.toString(16).padStart(2, "0")}` : `character U+${c.toString(16)}`;
      return `${shown} at offset ${i} is not a letter, digit, hyphen, underscore or dot`;
    }
  }
  return undefined;
}

/**
 * Whether a resolver could accept `name` (see the module doc): the same as
 * `domainNameProblem(name) === undefined`.
 *
 * @example
 * ```ts
 * isResolvableDomainName("_mta-sts.example.org"); // true
 * isResolvableDomainName("bad\0name");            // false
 * isResolvableDomainName("bücher.example");       // false: send the A-label xn--bcher-kva.example
 * ```
 */
export function isResolvableDomainName(name: string): boolean {
  return domainNameProblem(name) === undefined;
}
