/**
 * SOCKS5 addresses: the ATYP + ADDR + PORT triple shared by requests
 * (DST.ADDR, DST.PORT) and replies (BND.ADDR, BND.PORT), RFC 1928 sections
 * 4-6. IP parsing and formatting is done by `ipaddr.js`.
 *
 * @module
 */
import ipaddr from "ipaddr.js";
import { ATYP, type Atyp, REP } from "./constants.ts";
import { domainNameProblem } from "./domain-name.ts";
import { Socks5DomainNameError, Socks5ProtocolError } from "./errors.ts";

/**
 * A SOCKS5 endpoint (DST.ADDR/DST.PORT or BND.ADDR/BND.PORT).
 *
 * `host` is an IPv4 literal in four-part decimal (`"192.0.2.1"`), an IPv6
 * literal without brackets (`"2001:db8::1"`, may carry a zone `"fe80::1%eth0"`
 * which SOCKS5 cannot transmit and is dropped on the wire) or a domain name
 * (`"example.com"`, 1-255 bytes of UTF-8). `port` is a TCP port, 0-65535.
 */
export interface SocksAddress {
  /** IPv4 literal, IPv6 literal (no brackets) or domain name. */
  host: string;
  /** TCP port, 0-65535. */
  port: number;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Parse `host` as an IP literal, or `null` when it is a domain name. */
function parseIp(host: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare !== host && !ipaddr.IPv6.isValid(bare)) return null;
  // Only dotted quads are IPv4: "127.1" or "0x7f.1" are sent as domain names,
  // as a SOCKS client cannot know how the proxy's resolver would read them.
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare);
  return null;
}

/**
 * The ATYP `host` is sent as: {@linkcode ATYP.IPV4} for a dotted-quad IPv4
 * literal and for an IPv4-mapped IPv6 literal (`"::ffff:192.0.2.1"`, which is
 * an IPv4 host), {@linkcode ATYP.IPV6} for any other IPv6 literal (brackets
 * and a `%zone` are tolerated), {@linkcode ATYP.DOMAINNAME} otherwise.
 * Source: RFC 1928 section 5.
 *
 * @example
 * ```ts
 * addressType("127.0.0.1"); // 0x01
 * addressType("::1"); // 0x04
 * addressType("example.com"); // 0x03
 * ```
 */
export function addressType(host: string): Atyp {
  const ip = parseIp(host);
  if (ip === null) return ATYP.DOMAINNAME;
  if (ip.kind() === "ipv4") return ATYP.IPV4;
  return (ip as ipaddr.IPv6).isIPv4MappedAddress() ? ATYP.IPV4 : ATYP.IPV6;
}

/**
 * Encode `addr` as ATYP, ADDR, PORT (network byte order), RFC 1928 sections
 * 4-5: 7 bytes for IPv4, 19 for IPv6, 4 + name length for a domain.
 * The ATYP is the one {@linkcode addressType} gives.
 *
 * @throws {RangeError} when `port` is not an integer 0-65535, or a domain
 * name is empty or longer than 255 bytes of UTF-8.
 */
export function encodeAddress(addr: SocksAddress): Uint8Array {
  const { host, port } = addr;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError(`SOCKS5 port must be an integer 0-65535, got ${port}`);
  }
  let atyp: Atyp;
  let body: Uint8Array;
  const ip = parseIp(host);
  if (ip === null) {
    const name = utf8.encode(host);
    if (name.length < 1 || name.length > 255) {
      throw new RangeError(
        `SOCKS5 domain name must be 1-255 bytes, got ${name.length}: ${JSON.stringify(host)}`,
      );
    }
    atyp = ATYP.DOMAINNAME;
    body = new Uint8Array(1 + name.length);
    body[0] = name.length;
    body.set(name, 1);
  } else if (ip.kind() === "ipv4") {
    atyp = ATYP.IPV4;
    body = Uint8Array.from(ip.toByteArray());
  } else if ((ip as ipaddr.IPv6).isIPv4MappedAddress()) {
    atyp = ATYP.IPV4;
    body = Uint8Array.from((ip as ipaddr.IPv6).toIPv4Address().toByteArray());
  } else {
    atyp = ATYP.IPV6;
    body = Uint8Array.from(ip.toByteArray()); // the zone id is not on the wire
  }
  const out = new Uint8Array(1 + body.length + 2);
  out[0] = atyp;
  out.set(body, 1);
  out[out.length - 2] = port >> 8;
  out[out.length - 1] = port & 0xff;
  return out;
}

/**
 * Text form of 16 IPv6 octets: RFC 5952 (`"2001:db8::1"`), except that an
 * IPv4-mapped address is written `"::ffff:192.0.2.1"` (RFC 5952 section 5).
 */
function formatIpv6(octets: Uint8Array): string {
  const ip = ipaddr.fromByteArray(Array.from(octets)) as ipaddr.IPv6;
  if (ip.isIPv4MappedAddress()) {
    return `::ffff:${ip.toIPv4Address().toString()}`;
  }
  return ip.toRFC5952String();
}

/** A decoded ATYP + ADDR + PORT. */
export interface DecodedAddress {
  /** ATYP as received. */
  atyp: Atyp;
  /** Address in the {@linkcode SocksAddress} text form. */
  addr: SocksAddress;
}

/**
 * Decode ATYP, ADDR, PORT starting at `bytes[offset]` (RFC 1928 sections
 * 4-5). Returns `null` when more bytes are needed, else the address and
 * `length`, the number of bytes it occupies from `offset`.
 *
 * `side` sets the checks and the `rep` of the errors: `"server"` (decoding
 * a request) gives REP 0x08 for an unknown ATYP and REP 0x04 (host
 * unreachable) for a domain name no resolver accepts (empty, or failing
 * `domainNameProblem`: a NUL or other byte outside letters, digits, `-`, `_`
 * and `.`, an empty or over-long label); `"client"` (decoding a reply)
 * accepts any non-empty UTF-8 name and gives `undefined`.
 *
 * @throws {Socks5ProtocolError} unknown ATYP; a zero-length domain name; on
 * the server side a name `domainNameProblem` refuses, on the client side a
 * non-UTF-8 one.
 */
export function decodeAddress(
  bytes: Uint8Array,
  offset: number,
  side: "server" | "client",
): { value: DecodedAddress; length: number } | null {
  if (bytes.length <= offset) return null;
  const atyp = bytes[offset];
  let addrLength: number;
  let addrStart = offset + 1;
  if (atyp === ATYP.IPV4) addrLength = 4;
  else if (atyp === ATYP.IPV6) addrLength = 16;
  else if (atyp === ATYP.DOMAINNAME) {
    if (bytes.length <= offset + 1) return null;
    addrLength = bytes[offset + 1];
    addrStart += 1;
    if (addrLength === 0) {
      // ATYP X'03' is supported, so X'08' would misstate the problem: the
      // name is empty, which no resolver accepts. It is answered as a name
      // that does not resolve is: X'04' (see below).
      if (side === "server") throw new Socks5DomainNameError("", "empty name");
      throw new Socks5ProtocolError("DOMAINNAME of length 0");
    }
  } else {
    throw new Socks5ProtocolError(
      `unknown ATYP 0x${atyp.toString(16).padStart(2, "0")}`,
      side === "server" ? REP.ADDRESS_TYPE_NOT_SUPPORTED : undefined,
    );
  }
  const end = addrStart + addrLength + 2;
  if (bytes.length < end) return null;
  const raw = bytes.subarray(addrStart, addrStart + addrLength);
  let host: string;
  if (atyp === ATYP.IPV4) host = raw.join(".");
  else if (atyp === ATYP.IPV6) host = formatIpv6(raw);
  else if (side === "server") {
    // A name no resolver accepts (a NUL byte, a space, non-ASCII, a label
    // over 63 bytes, ...) is refused here, before any runtime call: passed
    // on, a NUL makes Bun.connect throw synchronously, and the rest fail
    // only after a lookup. Answered X'04' (host unreachable), the REP of a
    // name that does not resolve.
    const text = String.fromCharCode(...raw);
    const problem = domainNameProblem(text);
    if (problem !== undefined) throw new Socks5DomainNameError(text, problem);
    host = text; // ASCII only, so the bytes are the text
  } else {
    try {
      host = utf8Strict.decode(raw);
    } catch {
      throw new Socks5ProtocolError("DOMAINNAME is not valid UTF-8");
    }
  }
  const port = (bytes[end - 2] << 8) | bytes[end - 1];
  return { value: { atyp, addr: { host, port } }, length: end - offset };
}
