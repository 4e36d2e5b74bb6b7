/**
 * Errors raised by the SOCKS5 codec, reader and client handshake.
 *
 * @module
 */
import { REP } from "./constants.ts";

/**
 * Malformed SOCKS5 / RFC 1929 input: a decoder saw bytes no conforming peer
 * sends (wrong VER, NMETHODS 0, unknown ATYP, ...), or a {@linkcode ByteReader}
 * buffered more bytes than any legal message needs.
 *
 * `rep` is the RFC 1928 section 6 REP code a server should answer before
 * closing (e.g. `0x08` for an unknown ATYP in a request), or `undefined` when
 * no reply fits and the only right move is to close. On the client side
 * (decoding a server's messages) `rep` is always `undefined`.
 */
export class Socks5ProtocolError extends Error {
  /** REP code to answer with, or `undefined`: close without a reply. */
  readonly rep: number | undefined;
  constructor(message: string, rep?: number) {
    super(message);
    this.name = "Socks5ProtocolError";
    this.rep = rep;
  }
}

/**
 * A request's DOMAINNAME that no resolver accepts (empty, a NUL or other
 * byte outside letters, digits, `-`, `_`, `.`, non-ASCII, an empty or
 * over-long label, over 253 bytes): a {@linkcode Socks5ProtocolError} with
 * `rep` 0x04 (host unreachable), thrown by `decodeRequest` before the name
 * can reach a runtime's connect. Its own class so a server can tell it from
 * other decoder errors, e.g. to answer 0x08 on a listener that refuses
 * domain names altogether (`allow_domain_names: false`).
 */
export class Socks5DomainNameError extends Socks5ProtocolError {
  /** The DOMAINNAME bytes as Latin-1 text (one character per byte), for logs: escape before printing. */
  readonly domainName: string;
  /** Why it was refused, e.g. `"byte 0x00 at offset 3 is not a letter, ..."`. */
  readonly problem: string;
  constructor(domainName: string, problem: string) {
    super(`DOMAINNAME ${JSON.stringify(domainName)} is not a host name: ${problem}`, REP.HOST_UNREACHABLE);
    this.name = "Socks5DomainNameError";
    this.domainName = domainName;
    this.problem = problem;
  }
}

/**
 * The peer sent FIN (the connection's `read()` returned `null`) before a
 * whole message arrived. `received` holds the bytes of the incomplete message
 * (possibly empty), e.g. so a client can still read the REP of a truncated
 * reply.
 */
export class Socks5EofError extends Error {
  /** Bytes buffered when FIN arrived (the incomplete message). */
  readonly received: Uint8Array;
  constructor(received: Uint8Array) {
    super(
      received.length === 0
        ? "peer closed the connection before sending a SOCKS5 message"
        : `peer closed the connection in the middle of a SOCKS5 message (${received.length} bytes received)`,
    );
    this.name = "Socks5EofError";
    this.received = received;
  }
}

/**
 * Where the client handshake failed: `"greeting"` (method negotiation,
 * RFC 1928 section 3), `"auth"` (RFC 1929), `"bind"` (KumoMTA's
 * `BIND <source-ip>:0`) or `"connect"` (the CONNECT request).
 */
export type Socks5ClientStage = "greeting" | "auth" | "bind" | "connect";

/**
 * A failed client handshake (see `socks5ClientHandshake`).
 *
 * - `stage` tells where it failed.
 * - `rep` is the REP code of the proxy's reply when the proxy answered a
 *   BIND or CONNECT request with an error (RFC 1928 section 6), else
 *   `undefined` (I/O error, EOF, malformed reply, method refused, RFC 1929
 *   failure).
 * - `cause` holds the underlying error when there is one (a `NetError`,
 *   {@linkcode Socks5EofError} or {@linkcode Socks5ProtocolError}).
 *
 * Classification, as KumoMTA does it: only `stage === "connect" && rep !==
 * undefined` is a failure about the destination; everything else means the
 * proxy itself is unhealthy (including `stage === "bind"` with a `rep`: the
 * proxy cannot bind the source address).
 */
export class Socks5ClientError extends Error {
  /** Handshake step that failed. */
  readonly stage: Socks5ClientStage;
  /** REP code of an error reply to BIND/CONNECT, else `undefined`. */
  readonly rep: number | undefined;
  constructor(
    stage: Socks5ClientStage,
    message: string,
    options?: { rep?: number; cause?: unknown },
  ) {
    super(
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "Socks5ClientError";
    this.stage = stage;
    this.rep = options?.rep;
  }
}
