/**
 * IP addresses and CIDR blocks as numbers, for matching at request time
 * without string work: an address is parsed once ({@linkcode parseIp}), a
 * list of blocks is compiled once ({@linkcode compileCidrSet}), and a match
 * is a binary search (IPv4) or a few masked word compares (IPv6).
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are IPv4 here: a peer
 * reported as `::ffff:10.1.2.3` matches `"10.0.0.0/8"`, and a block written
 * `"::ffff:10.0.0.0/104"` is the IPv4 block `10.0.0.0/8`. An IPv6 block
 * shorter than /96 (`"::/0"`) matches IPv6 addresses only, never IPv4 ones:
 * write `"0.0.0.0/0"` for those.
 *
 * One file because it is one value type, `Ip`, with the CIDR sets built from
 * it (IPv4-mapped IPv6 folded to IPv4 in one place).
 *
 * @module
 */

import ipaddr from "ipaddr.js";

/**
 * A parsed IP address. IPv4 (and IPv4-mapped IPv6) addresses have
 * `family` 4 and the address in `w3` (an unsigned 32-bit number); IPv6
 * addresses have `family` 6 and the 128 bits in `w0` (high) to `w3` (low).
 */
export class Ip {
  /** 4 for IPv4 (including IPv4-mapped IPv6), 6 for IPv6. */
  readonly family: 4 | 6;
  /** Bits 127-96 of an IPv6 address; 0 for IPv4. */
  readonly w0: number;
  /** Bits 95-64 of an IPv6 address; 0 for IPv4. */
  readonly w1: number;
  /** Bits 63-32 of an IPv6 address; 0 for IPv4. */
  readonly w2: number;
  /** Bits 31-0 of an IPv6 address, or the IPv4 address, unsigned. */
  readonly w3: number;
  #key: string | undefined;

  /** Build from words; use {@linkcode parseIp} to build from text. */
  constructor(family: 4 | 6, w0: number, w1: number, w2: number, w3: number) {
    this.family = family;
    this.w0 = w0 >>> 0;
    this.w1 = w1 >>> 0;
    this.w2 = w2 >>> 0;
    this.w3 = w3 >>> 0;
  }

  /**
   * One canonical spelling per address, for counter keys: dotted quad for
   * IPv4 (`"10.1.2.3"`, also for `::ffff:10.1.2.3`), RFC 5952 text for IPv6
   * (`"2001:db8::1"`). Computed on first use.
   */
  get key(): string {
    if (this.#key === undefined) {
      const w = this.w3;
      this.#key = this.family === 4
        ? `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`
        : new ipaddr.IPv6([
          this.w0 >>> 16,
          this.w0 & 0xffff,
          this.w1 >>> 16,
          this.w1 & 0xffff,
          this.w2 >>> 16,
          this.w2 & 0xffff,
          this.w3 >>> 16,
          this.w3 & 0xffff,
        ]).toString();
    }
    return this.#key;
  }

  /** The canonical spelling ({@linkcode Ip.key}). */
  toString(): string {
    return this.key;
  }
}

/** A dotted quad without leading zeros to a number, or -1. */
function parseDottedQuad(text: string): number {
  let value = 0;
  let part = -1;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) { // "."
      if (part < 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = -1;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part < 0 ? c - 48 : part * 10 + c - 48;
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || part < 0) return -1;
  return value * 256 + part;
}

/**
 * Parse an IPv4 or IPv6 literal: `"10.1.2.3"`, `"2001:db8::1"`,
 * `"::ffff:10.1.2.3"` (becomes the IPv4 address), `"fe80::1%eth0"` (the
 * zone is dropped). Not accepted: leading zeros, brackets, ports, names.
 *
 * @returns the address, or `undefined` when `text` is not an IP literal
 * @example
 * ```ts
 * parseIp("::ffff:10.1.2.3")?.family; // 4
 * parseIp("example.com"); // undefined
 * ```
 */
export function parseIp(text: string): Ip | undefined {
  const v4 = parseDottedQuad(text);
  if (v4 >= 0) return new Ip(4, 0, 0, 0, v4);
  if (text.indexOf(":") < 0) return undefined;
  const percent = text.indexOf("%");
  const bare = percent < 0 ? text : text.slice(0, percent);
  if (!ipaddr.IPv6.isValid(bare)) return undefined;
  const p = ipaddr.IPv6.parse(bare).parts;
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0xffff) {
    return new Ip(4, 0, 0, 0, p[6] * 65536 + p[7]);
  }
  return new Ip(6, p[0] * 65536 + p[1], p[2] * 65536 + p[3], p[4] * 65536 + p[5], p[6] * 65536 + p[7]);
}

/** `ip` itself when already parsed, else {@linkcode parseIp} of the text. */
export function toIp(ip: string | Ip): Ip | undefined {
  return typeof ip === "string" ? parseIp(ip) : ip;
}

/** A parsed CIDR block: the network address (host bits cleared) and the prefix length. */
export interface Cidr {
  /** The network address; IPv4-mapped blocks are IPv4. */
  network: Ip;
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6; a bare address is /32 or /128. */
  prefix: number;
}

/** Outcome of {@linkcode parseCidr}. */
export type CidrParseResult = { ok: true; cidr: Cidr } | { ok: false; reason: string };

/** The mask of 32-bit word `i` (0 = the high word) of a `prefix`-bit prefix of 128 bits. */
function wordMask(prefix: number, i: number): number {
  const bits = Math.min(32, Math.max(0, prefix - 32 * i));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Parse an IP address or CIDR block: `"10.0.0.0/8"`, `"192.168.1.5"` (a
 * /32), `"fd00::/8"`, `"::1"` (a /128), `"::ffff:10.0.0.0/104"` (the IPv4
 * block 10.0.0.0/8). Host bits are allowed and cleared (`"10.1.2.3/8"` is
 * `10.0.0.0/8`). Zone indices (`%eth0`) are refused.
 *
 * @returns the block, or a phrase saying what is wrong
 * @example
 * ```ts
 * parseCidr("10.0.0.0/33"); // { ok: false, reason: "prefix length 33 is above 32" }
 * ```
 */
export function parseCidr(text: string): CidrParseResult {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  if (addressText.includes("%")) return { ok: false, reason: "zone indices such as %eth0 are not allowed" };
  let ip: Ip | undefined;
  let max: number;
  let mappedPrefix = false;
  const v4 = parseDottedQuad(addressText);
  if (v4 >= 0) {
    ip = new Ip(4, 0, 0, 0, v4);
    max = 32;
  } else {
    ip = addressText.includes(":") ? parseIp(addressText) : undefined;
    if (ip === undefined) {
      return { ok: false, reason: `${JSON.stringify(addressText)} is not an IP address` };
    }
    max = 128;
    mappedPrefix = ip.family === 4;
  }
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) {
      return { ok: false, reason: `prefix length ${JSON.stringify(prefixText)} is not a number` };
    }
    prefix = Number(prefixText);
    if (prefix > max) return { ok: false, reason: `prefix length ${prefix} is above ${max}` };
  }
  if (mappedPrefix) {
    // Written in IPv4-mapped form: /96 and longer is an IPv4 block.
    if (prefix < 96) {
      return {
        ok: false,
        reason: `an IPv4-mapped block needs a prefix of at least 96, got ${prefix}; ` +
          'write IPv4 blocks as "a.b.c.d/n"',
      };
    }
    prefix -= 96;
  }
  if (ip.family === 4) {
    const network = new Ip(4, 0, 0, 0, (ip.w3 & wordMask(prefix + 96, 3)) >>> 0);
    return { ok: true, cidr: { network, prefix } };
  }
  const network = new Ip(
    6,
    ip.w0 & wordMask(prefix, 0),
    ip.w1 & wordMask(prefix, 1),
    ip.w2 & wordMask(prefix, 2),
    ip.w3 & wordMask(prefix, 3),
  );
  return { ok: true, cidr: { network, prefix } };
}

/**
 * A compiled list of CIDR blocks. `has(ip)` is a binary search over merged
 * IPv4 ranges, or a scan of masked IPv6 words.
 */
export interface CidrSet {
  /** Whether `ip` is inside one of the blocks. */
  has(ip: Ip): boolean;
  /** How many blocks were given (before merging). */
  readonly size: number;
}

/**
 * Whether `x` is inside one of the sorted, disjoint, inclusive ranges
 * `[lo0, hi0, lo1, hi1, ...]`.
 */
export function inRanges(ranges: Uint32Array, x: number): boolean {
  let lo = 0;
  let hi = (ranges.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (x < ranges[2 * mid]) hi = mid - 1;
    else if (x > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Sort and merge inclusive ranges `[lo, hi]` (overlapping or adjacent ones
 * become one) into the flat form {@linkcode inRanges} searches.
 */
export function mergeRanges(ranges: [number, number][]): Uint32Array {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: number[] = [];
  for (const [lo, hi] of sorted) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last] + 1) out[last] = Math.max(out[last], hi);
    else out.push(lo, hi);
  }
  return Uint32Array.from(out);
}

/**
 * Compile IP addresses and CIDR blocks (as {@linkcode parseCidr} reads them)
 * into a {@linkcode CidrSet}.
 *
 * @throws {TypeError} on an entry that is not an address or block (the
 *   config schema reports those before this runs)
 * @example
 * ```ts
 * const set = compileCidrSet(["10.0.0.0/8", "fd00::/8"]);
 * set.has(parseIp("::ffff:10.9.9.9")!); // true
 * ```
 */
export function compileCidrSet(entries: readonly string[]): CidrSet {
  const v4: [number, number][] = [];
  const v6: number[] = [];
  for (const entry of entries) {
    const parsed = parseCidr(entry);
    if (!parsed.ok) throw new TypeError(`not an IP address or CIDR block: ${JSON.stringify(entry)} (${parsed.reason})`);
    const { network: n, prefix } = parsed.cidr;
    if (n.family === 4) {
      const size = prefix === 0 ? 2 ** 32 : 2 ** (32 - prefix);
      v4.push([n.w3, n.w3 + size - 1]);
    } else {
      v6.push(
        n.w0,
        n.w1,
        n.w2,
        n.w3,
        wordMask(prefix, 0),
        wordMask(prefix, 1),
        wordMask(prefix, 2),
        wordMask(prefix, 3),
      );
    }
  }
  const ranges = mergeRanges(v4);
  const masks = Uint32Array.from(v6);
  const size = entries.length;
  if (masks.length === 0) return { size, has: (ip) => ip.family === 4 && inRanges(ranges, ip.w3) };
  return {
    size,
    has(ip: Ip): boolean {
      if (ip.family === 4) return inRanges(ranges, ip.w3);
      for (let i = 0; i < masks.length; i += 8) {
        if (
          ((ip.w0 & masks[i + 4]) >>> 0) === masks[i] &&
          ((ip.w1 & masks[i + 5]) >>> 0) === masks[i + 1] &&
          ((ip.w2 & masks[i + 6]) >>> 0) === masks[i + 2] &&
          ((ip.w3 & masks[i + 7]) >>> 0) === masks[i + 3]
        ) return true;
      }
      return false;
    },
  };
}

/** Whether `ip` is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x.y.z). */
export function isLoopback(ip: Ip): boolean {
  return ip.family === 4 ? ip.w3 >>> 24 === 127 : ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0 && ip.w3 === 1;
}
