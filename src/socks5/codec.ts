/**
 * The SOCKS5 wire codec (RFC 1928) with RFC 1929 username/password
 * authentication: pure functions from bytes to messages and back, no I/O.
 *
 * Decoders take a `Uint8Array` that may hold a partial message, or a whole
 * message followed by more bytes, and return `null` when more bytes are
 * needed or `{ value, length }` where `length` is the number of bytes the
 * message occupies. They throw {@linkcode Socks5ProtocolError} for input no
 * conforming peer sends, as soon as the offending byte is seen. Encoders
 * return a fresh `Uint8Array` and throw `RangeError` for values the wire
 * cannot carry.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeReply, REP } from "./index.ts";
 * const req = decodeRequest(new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]));
 * // req = { value: { cmd: 1, atyp: 1, dstAddr: { host: "127.0.0.1", port: 8080 } }, length: 10 }
 * const reply = encodeReply(REP.SUCCEEDED, { host: "192.0.2.1", port: 40000 });
 * ```
 *
 * One file because it is one codec: every RFC 1928/1929 message's encoder
 * beside its decoder, so each wire format is read and written in one place;
 * it has no I/O and no state.
 *
 * @module
 */
import { decodeAddress, encodeAddress, type SocksAddress } from "./address.ts";
import { type Atyp, SOCKS_VERSION, USERNAME_PASSWORD_VERSION } from "./constants.ts";
import { Socks5ProtocolError } from "./errors.ts";

/** A decoded message and the number of bytes it occupied. */
export interface Decoded<T> {
  /** The message. */
  value: T;
  /** Bytes consumed from the start of the input. */
  length: number;
}

/**
 * A decoder: `null` when `bytes` holds only part of a message, else the
 * message and its length. Throws {@linkcode Socks5ProtocolError} on
 * malformed input.
 */
export type Decoder<T> = (bytes: Uint8Array) => Decoded<T> | null;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

function checkByte(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(`${name} must be an integer 0-255, got ${value}`);
  }
}

function checkVersion(bytes: Uint8Array, what: string): void {
  if (bytes.length >= 1 && bytes[0] !== SOCKS_VERSION) {
    throw new Socks5ProtocolError(
      `${what}: VER ${hex(bytes[0])}, expected 0x05`,
    );
  }
}

// ---------------------------------------------------------------- server side

/** The client's version identifier/method selection message (RFC 1928 section 3). */
export interface Greeting {
  /** METHODS, in the order the client sent them (duplicates kept). */
  methods: number[];
}

/**
 * Decode the client greeting `VER NMETHODS METHODS...` (RFC 1928 section 3);
 * 3-257 bytes.
 *
 * @throws {Socks5ProtocolError} (`rep` undefined: close) when VER is not 5 or
 * NMETHODS is 0.
 */
export function decodeGreeting(bytes: Uint8Array): Decoded<Greeting> | null {
  checkVersion(bytes, "greeting");
  if (bytes.length < 2) return null;
  const nmethods = bytes[1];
  if (nmethods === 0) throw new Socks5ProtocolError("greeting: NMETHODS is 0");
  if (bytes.length < 2 + nmethods) return null;
  return {
    value: { methods: Array.from(bytes.subarray(2, 2 + nmethods)) },
    length: 2 + nmethods,
  };
}

/**
 * Encode the server's METHOD selection message `VER METHOD` (RFC 1928
 * section 3), e.g. `[0x05, 0x02]`; `0xFF` says no acceptable method.
 *
 * @throws {RangeError} when `method` is not 0-255.
 */
export function encodeMethodSelection(method: number): Uint8Array {
  checkByte("METHOD", method);
  return Uint8Array.of(SOCKS_VERSION, method);
}

/** RFC 1929 username/password request, as text. */
export interface UsernamePassword {
  /** UNAME, 1-255 bytes of UTF-8. */
  username: string;
  /** PASSWD, 0-255 bytes of UTF-8. */
  password: string;
}

/**
 * Decode the RFC 1929 request `VER ULEN UNAME PLEN PASSWD` (section 2);
 * 4-513 bytes. UNAME and PASSWD are decoded as UTF-8. PLEN 0 (an empty
 * password) is accepted: RFC 1929 does not forbid it, and the comparison
 * with the configured password will decide.
 *
 * @throws {Socks5ProtocolError} (`rep` undefined: close) when VER is not
 * 0x01, ULEN is 0, or UNAME/PASSWD is not valid UTF-8 (decoding it leniently
 * could make distinct byte strings compare equal).
 */
export function decodeUsernamePasswordRequest(
  bytes: Uint8Array,
): Decoded<UsernamePassword> | null {
  if (bytes.length >= 1 && bytes[0] !== USERNAME_PASSWORD_VERSION) {
    throw new Socks5ProtocolError(
      `RFC 1929 request: VER ${hex(bytes[0])}, expected 0x01`,
    );
  }
  if (bytes.length < 2) return null;
  const ulen = bytes[1];
  if (ulen === 0) throw new Socks5ProtocolError("RFC 1929 request: ULEN is 0");
  if (bytes.length < 3 + ulen) return null;
  const plen = bytes[2 + ulen];
  const end = 3 + ulen + plen;
  if (bytes.length < end) return null;
  try {
    return {
      value: {
        username: utf8Strict.decode(bytes.subarray(2, 2 + ulen)),
        password: utf8Strict.decode(bytes.subarray(3 + ulen, end)),
      },
      length: end,
    };
  } catch {
    throw new Socks5ProtocolError(
      "RFC 1929 request: UNAME or PASSWD is not valid UTF-8",
    );
  }
}

/**
 * Encode the RFC 1929 reply `VER STATUS` (section 2): `[0x01, status]`;
 * status 0x00 is success, anything else failure (then close).
 *
 * @throws {RangeError} when `status` is not 0-255.
 */
export function encodeUsernamePasswordReply(status: number): Uint8Array {
  checkByte("STATUS", status);
  return Uint8Array.of(USERNAME_PASSWORD_VERSION, status);
}

/** A SOCKS5 request (RFC 1928 section 4). */
export interface Request {
  /** CMD as received; may be a code RFC 1928 does not define (answer REP 0x07). */
  cmd: number;
  /** ATYP as received. */
  atyp: Atyp;
  /** DST.ADDR and DST.PORT; an IPv6 DST.ADDR is in RFC 5952 form. */
  dstAddr: SocksAddress;
}

/**
 * Decode a request `VER CMD RSV ATYP DST.ADDR DST.PORT` (RFC 1928 section
 * 4); 10 bytes (IPv4), 22 (IPv6) or 7 + name length (domain, up to 262).
 * An unknown CMD is returned, not thrown: the server answers
 * REP 0x07 (COMMAND_NOT_SUPPORTED). RSV is ignored (it is reserved,
 * and rejecting it would gain nothing).
 *
 * A DOMAINNAME is checked with `domainNameProblem` (`domain-name.ts`) once the
 * whole request is in, so a name no resolver accepts (empty, a NUL byte,
 * bytes other than letters, digits, `-`, `_`, `.`, non-ASCII, an empty
 * label, a label over 63 bytes, over 253 bytes) never reaches a runtime's
 * connect: the decoder throws `Socks5DomainNameError` (`rep`
 * 0x04) and the server answers that REP and closes, as it does for any
 * decoder error that carries a `rep`.
 *
 * @throws {Socks5ProtocolError} VER not 5 (`rep` undefined: close); unknown
 * ATYP (`rep` 0x08 ADDRESS_TYPE_NOT_SUPPORTED).
 * @throws {Socks5DomainNameError} a DOMAINNAME no resolver accepts (`rep`
 * 0x04 HOST_UNREACHABLE: the ATYP is supported, the name cannot resolve,
 * which is answered like a failed resolution).
 */
export function decodeRequest(bytes: Uint8Array): Decoded<Request> | null {
  checkVersion(bytes, "request");
  if (bytes.length < 4) return null;
  const address = decodeAddress(bytes, 3, "server");
  if (address === null) return null;
  return {
    value: {
      cmd: bytes[1],
      atyp: address.value.atyp,
      dstAddr: address.value.addr,
    },
    length: 3 + address.length,
  };
}

/**
 * Encode a reply `VER REP RSV ATYP BND.ADDR BND.PORT` (RFC 1928 section 6).
 * `bndAddr` defaults to `0.0.0.0:0`, the usual BND for error replies. An
 * IPv4-mapped IPv6 BND.ADDR (`::ffff:192.0.2.1`, as dual-stack sockets report
 * local addresses) is sent as ATYP IPV4; a zone id is dropped.
 *
 * @throws {RangeError} when `rep` is not 0-255, the port is not 0-65535 or a
 * domain name is not 1-255 bytes.
 */
export function encodeReply(
  rep: number,
  bndAddr: SocksAddress = { host: "0.0.0.0", port: 0 },
): Uint8Array {
  checkByte("REP", rep);
  const address = encodeAddress(bndAddr);
  const out = new Uint8Array(3 + address.length);
  out.set([SOCKS_VERSION, rep, 0x00]);
  out.set(address, 3);
  return out;
}

// ---------------------------------------------------------------- client side

/**
 * Encode the client greeting `VER NMETHODS METHODS` (RFC 1928 section 3),
 * e.g. `encodeGreeting([0x00, 0x02])` is `[0x05, 0x02, 0x00, 0x02]`.
 *
 * @throws {RangeError} when there are 0 or more than 255 methods, or a
 * method is not 0-255.
 */
export function encodeGreeting(methods: readonly number[]): Uint8Array {
  if (methods.length < 1 || methods.length > 255) {
    throw new RangeError(`NMETHODS must be 1-255, got ${methods.length}`);
  }
  for (const method of methods) checkByte("METHOD", method);
  return Uint8Array.of(SOCKS_VERSION, methods.length, ...methods);
}

/** The server's METHOD selection message (RFC 1928 section 3). */
export interface MethodSelection {
  /** The selected METHOD; 0xFF means none of the offered ones. */
  method: number;
}

/**
 * Decode the server's `VER METHOD` (RFC 1928 section 3); 2 bytes.
 *
 * @throws {Socks5ProtocolError} when VER is not 5.
 */
export function decodeMethodSelection(
  bytes: Uint8Array,
): Decoded<MethodSelection> | null {
  checkVersion(bytes, "method selection");
  if (bytes.length < 2) return null;
  return { value: { method: bytes[1] }, length: 2 };
}

/**
 * Encode the RFC 1929 request `VER ULEN UNAME PLEN PASSWD` (section 2),
 * both fields as UTF-8.
 *
 * @throws {RangeError} when the username is not 1-255 bytes, or the password
 * is longer than 255 bytes. An empty password is allowed (PLEN 0), matching
 * what {@linkcode decodeUsernamePasswordRequest} accepts.
 */
export function encodeUsernamePasswordRequest(
  username: string,
  password: string,
): Uint8Array {
  const uname = utf8.encode(username);
  const passwd = utf8.encode(password);
  if (uname.length < 1 || uname.length > 255) {
    throw new RangeError(
      `RFC 1929 username must be 1-255 bytes of UTF-8, got ${uname.length}`,
    );
  }
  if (passwd.length > 255) {
    throw new RangeError(
      `RFC 1929 password must be at most 255 bytes of UTF-8, got ${passwd.length}`,
    );
  }
  const out = new Uint8Array(3 + uname.length + passwd.length);
  out[0] = USERNAME_PASSWORD_VERSION;
  out[1] = uname.length;
  out.set(uname, 2);
  out[2 + uname.length] = passwd.length;
  out.set(passwd, 3 + uname.length);
  return out;
}

/** The RFC 1929 reply. */
export interface UsernamePasswordReply {
  /** STATUS: 0x00 success, anything else failure. */
  status: number;
}

/**
 * Decode the RFC 1929 reply `VER STATUS` (section 2); 2 bytes. VER 0x05 is
 * accepted as well as 0x01, because several deployed servers echo the SOCKS
 * version there; the STATUS byte alone decides.
 *
 * @throws {Socks5ProtocolError} when VER is neither 0x01 nor 0x05.
 */
export function decodeUsernamePasswordReply(
  bytes: Uint8Array,
): Decoded<UsernamePasswordReply> | null {
  if (
    bytes.length >= 1 && bytes[0] !== USERNAME_PASSWORD_VERSION &&
    bytes[0] !== SOCKS_VERSION
  ) {
    throw new Socks5ProtocolError(
      `RFC 1929 reply: VER ${hex(bytes[0])}, expected 0x01`,
    );
  }
  if (bytes.length < 2) return null;
  return { value: { status: bytes[1] }, length: 2 };
}

/**
 * Encode a request `VER CMD RSV ATYP DST.ADDR DST.PORT` (RFC 1928 section 4).
 * The ATYP follows `dstAddr.host` (see `addressType`); for KumoMTA's source
 * selection send `encodeRequest(CMD.BIND, { host: sourceIp, port: 0 })`.
 *
 * @throws {RangeError} when `cmd` is not 0-255, the port is not 0-65535 or a
 * domain name is not 1-255 bytes.
 */
export function encodeRequest(cmd: number, dstAddr: SocksAddress): Uint8Array {
  checkByte("CMD", cmd);
  const address = encodeAddress(dstAddr);
  const out = new Uint8Array(3 + address.length);
  out.set([SOCKS_VERSION, cmd, 0x00]);
  out.set(address, 3);
  return out;
}

/** A SOCKS5 reply (RFC 1928 section 6). */
export interface Reply {
  /** REP; 0x00 is success. */
  rep: number;
  /** ATYP as received. */
  atyp: Atyp;
  /** BND.ADDR and BND.PORT. */
  bndAddr: SocksAddress;
}

/**
 * Decode a reply `VER REP RSV ATYP BND.ADDR BND.PORT` (RFC 1928 section 6).
 * RSV is ignored.
 *
 * @throws {Socks5ProtocolError} (`rep` undefined) when VER is not 5, ATYP is
 * unknown or a DOMAINNAME is empty or not UTF-8.
 */
export function decodeReply(bytes: Uint8Array): Decoded<Reply> | null {
  checkVersion(bytes, "reply");
  if (bytes.length < 4) return null;
  const address = decodeAddress(bytes, 3, "client");
  if (address === null) return null;
  return {
    value: {
      rep: bytes[1],
      atyp: address.value.atyp,
      bndAddr: address.value.addr,
    },
    length: 3 + address.length,
  };
}
