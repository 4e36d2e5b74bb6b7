/**
 * Malformed, mutated and truncated SOCKS5 handshakes for the fuzz test and
 * the soak script: a seeded PRNG (so a failure reproduces from its seed),
 * generators for each part of the handshake (greeting, RFC 1929
 * authentication, requests with every ATYP, KumoMTA's BIND-then-CONNECT),
 * byte-level mutations, and {@linkcode makeSafe}, which rewrites every
 * request the proxy would act on so that it can only reach loopback.
 *
 * Pure: no I/O; `fuzz-client.ts` sends the cases.
 *
 * @module
 */

/** A seeded 32-bit PRNG (mulberry32): the same seed gives the same cases. */
export class Prng {
  #state: number;

  /** A generator starting from `seed` (any 32-bit integer). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A byte, 0-255. */
  byte(): number {
    return this.int(256);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): number[] {
    return Array.from({ length: n }, () => this.byte());
  }
}

/** The RFC 1929 account the fuzzed proxy is configured with. */
export const FUZZ_USER = { username: "fuzz", password: "fuzz-pass" } as const;

/** Where a request that the proxy would act on may go. */
export interface SafeTargets {
  /** A loopback port that accepts (the echo target). */
  openPort: number;
  /** A loopback port that refuses. */
  closedPort: number;
}

/** How the client ends a case. */
export type Ending =
  /** Write everything, then FIN; wait for the proxy to close. */
  | "fin"
  /** Write everything, then reset the connection at once. */
  | "rst"
  /** Write everything, wait for the first reply bytes (or the close), then reset. */
  | "rst-after-reply"
  /** Write in two or three chunks (a fresh tick between them), then FIN. */
  | "split";

/** One fuzz case: the bytes one client connection sends, and how it ends. */
export interface FuzzCase {
  /** What generated it (for the statistics and failure messages). */
  kind: string;
  /** Bytes to send. */
  bytes: Uint8Array;
  /** How the connection ends. */
  ending: Ending;
}

const enc = new TextEncoder();

/** A greeting `VER NMETHODS METHODS`, usually valid, sometimes with bad counts. */
function greeting(r: Prng, methods?: number[]): number[] {
  const m = methods ?? Array.from({ length: 1 + r.int(4) }, () => r.pick([0, 1, 2, 3, 0x80, 0xfe, 0xff, r.byte()]));
  if (r.chance(0.05)) return [5, 0]; // NMETHODS 0
  if (r.chance(0.05)) return [5, Math.min(255, m.length + 1 + r.int(10)), ...m]; // NMETHODS too large
  return [5, m.length, ...m];
}

/** RFC 1929 `VER ULEN UNAME PLEN PASSWD`: the real account, a wrong one, or broken fields. */
function auth(r: Prng): number[] {
  const good = r.chance(0.6);
  const uname = good ? [...enc.encode(FUZZ_USER.username)] : r.chance(0.5) ? r.bytes(r.int(300)) : [0xc3, 0x28];
  const passwd = good ? [...enc.encode(FUZZ_USER.password)] : r.bytes(r.int(300));
  const ver = r.chance(0.9) ? 1 : r.pick([0, 5, r.byte()]);
  const ulen = r.chance(0.95) ? Math.min(255, uname.length) : r.byte();
  const plen = r.chance(0.95) ? Math.min(255, passwd.length) : r.byte();
  return [ver, ulen, ...uname.slice(0, 255), plen, ...passwd.slice(0, 255)];
}

/** A DOMAINNAME body: names that resolve locally, and names no resolver accepts. */
function domainName(r: Prng): number[] {
  switch (r.int(10)) {
    case 0:
      return [...enc.encode("localhost")];
    case 1: // a NUL byte somewhere
      return [...enc.encode("local"), 0, ...enc.encode("host")];
    case 2:
      return [0];
    case 3: // bytes outside letters, digits, - _ .
      return [...enc.encode("a"), r.pick([0x20, 0x2f, 0x40, 0x5c, 0x7f, 0x0a, 0x25, 0x2c]), ...enc.encode("b")];
    case 4: // non-ASCII
      return [...enc.encode("bücher.localhost")];
    case 5: // a label over 63 bytes
      return [...enc.encode("a".repeat(64) + ".localhost")];
    case 6: // an empty label
      return [...enc.encode(r.pick(["a..b", ".a", "..", "."]))];
    case 7: // random bytes
      return r.bytes(1 + r.int(255));
    case 8: // too long overall
      return [...enc.encode(Array.from({ length: 5 }, () => "x".repeat(60)).join("."))];
    default:
      return [...enc.encode("::1")];
  }
}

/** A request `VER CMD RSV ATYP DST.ADDR DST.PORT` with every ATYP and odd CMDs. */
function request(r: Prng, cmd?: number): number[] {
  const c = cmd ?? r.pick([1, 1, 1, 2, 3, 0, 4, r.byte()]);
  const ver = r.chance(0.95) ? 5 : r.pick([4, 0, r.byte()]);
  const rsv = r.chance(0.9) ? 0 : r.byte();
  const port = [r.byte(), r.byte()];
  switch (r.pick([1, 1, 3, 3, 4, 0, 2, 5, 0xff])) {
    case 1:
      return [ver, c, rsv, 1, 127, 0, 0, 1, ...port];
    case 3: {
      const name = domainName(r);
      const len = r.chance(0.95) ? Math.min(255, name.length) : r.byte();
      return [ver, c, rsv, 3, len, ...name.slice(0, 255), ...port];
    }
    case 4:
      return [ver, c, rsv, 4, ...new Array(15).fill(0), 1, ...port];
    default: { // unknown ATYP
      const atyp = r.pick([0, 2, 5, 0xff, r.byte()]);
      return [ver, c, rsv, atyp, ...r.bytes(r.int(20))];
    }
  }
}

/** Apply 1-3 byte-level mutations: flip, replace, insert, delete, duplicate, truncate. */
function mutate(r: Prng, input: number[]): number[] {
  const b = [...input];
  const times = 1 + r.int(3);
  for (let i = 0; i < times && b.length > 0; i++) {
    const at = r.int(b.length);
    switch (r.int(6)) {
      case 0:
        b[at] ^= 1 << r.int(8);
        break;
      case 1:
        b[at] = r.pick([0, 1, 2, 3, 4, 5, 0x7f, 0x80, 0xff, r.byte()]);
        break;
      case 2:
        b.splice(at, 0, ...r.bytes(1 + r.int(4)));
        break;
      case 3:
        b.splice(at, 1 + r.int(4));
        break;
      case 4:
        b.splice(at, 0, ...b.slice(at, at + 1 + r.int(8)));
        break;
      default:
        b.length = at;
    }
  }
  return b;
}

/**
 * The next case from `r`: a handshake of one of the kinds below, often
 * mutated or truncated, made safe with {@linkcode makeSafe}.
 *
 * Kinds: `greeting` (greeting alone), `auth` (greeting offering 0x02, then
 * RFC 1929), `request` (greeting, maybe authentication, one request of any
 * ATYP and CMD), `bind-connect` (BIND then CONNECT, KumoMTA's way),
 * `tunnel` (a valid CONNECT to the echo target followed by payload),
 * `garbage` (random bytes, half of them starting with 0x05).
 */
export function nextCase(r: Prng, targets: SafeTargets): FuzzCase {
  let kind: string;
  let b: number[];
  const noAuth = () => greeting(r, r.pick([[0], [0, 1], [1, 0, 0xff]]));
  const withAuth = () => [...greeting(r, r.pick([[2], [0, 2], [2, 0]])), ...auth(r)];
  switch (r.int(12)) {
    case 0:
    case 1:
      kind = "greeting";
      b = greeting(r);
      break;
    case 2:
    case 3:
      kind = "auth";
      b = withAuth();
      break;
    case 4:
    case 5:
    case 6:
      kind = "request";
      b = [...(r.chance(0.7) ? noAuth() : withAuth()), ...request(r)];
      break;
    case 7:
    case 8:
      kind = "bind-connect";
      b = [...noAuth(), ...request(r, 2), ...request(r, r.chance(0.8) ? 1 : r.pick([2, 3]))];
      break;
    case 9:
      kind = "tunnel";
      b = [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 0, ...r.bytes(r.int(64))];
      break;
    default:
      kind = "garbage";
      b = r.bytes(1 + r.int(64));
      if (r.chance(0.5)) b[0] = 5;
  }
  if (kind !== "tunnel" && r.chance(0.5)) {
    b = mutate(r, b);
    kind += "+mutated";
  } else if (r.chance(0.2)) {
    b = b.slice(0, r.int(b.length));
    kind += "+truncated";
  }
  const ending = r.pick<Ending>(["fin", "fin", "fin", "split", "rst", "rst-after-reply"]);
  return { kind, bytes: makeSafe(Uint8Array.from(b), targets, r), ending };
}

/** Bytes a DOMAINNAME may hold and still reach a resolver (names, IPv6 literals). */
function mayResolve(name: Uint8Array): boolean {
  for (const c of name) {
    const ok = (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d || c === 0x2e || c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

/**
 * Walk `bytes` the way the proxy reads them (greeting, RFC 1929 when 0x02 is
 * offered, then up to two requests) and rewrite every whole request so that
 * acting on it can only touch loopback: an IPv4 DST.ADDR becomes 127.0.0.1,
 * an IPv6 one ::1, a DOMAINNAME that could resolve becomes `localhost` (a
 * name with other bytes is left, as the proxy must refuse it), and a
 * CONNECT's port becomes the echo target's or the closed port. Independent
 * of the code under test on purpose (a safety net for the machine the test
 * runs on, not an assertion).
 */
export function makeSafe(bytes: Uint8Array, targets: SafeTargets, r: Prng): Uint8Array {
  const b = bytes;
  if (b.length < 2 || b[0] !== 5 || b[1] === 0 || b.length < 2 + b[1]) return b;
  const methods = b.subarray(2, 2 + b[1]);
  let p = 2 + b[1];
  if (methods.includes(2)) {
    if (b.length < p + 2 || b[p] !== 1 || b[p + 1] === 0) return b;
    const ulen = b[p + 1];
    if (b.length < p + 3 + ulen) return b;
    const plen = b[p + 2 + ulen];
    if (b.length < p + 3 + ulen + plen) return b;
    const uname = new TextDecoder().decode(b.subarray(p + 2, p + 2 + ulen));
    const passwd = new TextDecoder().decode(b.subarray(p + 3 + ulen, p + 3 + ulen + plen));
    if (uname !== FUZZ_USER.username || passwd !== FUZZ_USER.password) return b;
    p += 3 + ulen + plen;
  } else if (!methods.includes(0)) return b;
  const out: number[] = [...b.subarray(0, p)];
  for (let i = 0; i < 2; i++) {
    if (b.length < p + 4) break;
    const ver = b[p];
    const cmd = b[p + 1];
    const atyp = b[p + 3];
    const port = cmd === 1 ? (r.chance(0.7) ? targets.openPort : targets.closedPort) : 0;
    const portBytes = [port >> 8, port & 0xff];
    let end: number;
    if (atyp === 1) {
      end = p + 10;
      if (b.length < end) break;
      out.push(...b.subarray(p, p + 4), 127, 0, 0, 1, ...portBytes);
    } else if (atyp === 4) {
      end = p + 22;
      if (b.length < end) break;
      out.push(...b.subarray(p, p + 4), ...new Array(15).fill(0), 1, ...portBytes);
    } else if (atyp === 3) {
      if (b.length < p + 5) break;
      const len = b[p + 4];
      end = p + 5 + len + 2;
      if (b.length < end) break;
      const name = b.subarray(p + 5, p + 5 + len);
      const safeName = len > 0 && mayResolve(name) ? enc.encode("localhost") : name;
      out.push(...b.subarray(p, p + 4), safeName.length, ...safeName, ...portBytes);
    } else break;
    p = end;
    if (ver !== 5 || cmd !== 2) {
      // Not a BIND (or not SOCKS5): the proxy will not read another request.
      out.push(...b.subarray(p));
      return Uint8Array.from(out);
    }
  }
  out.push(...b.subarray(p));
  return Uint8Array.from(out);
}
