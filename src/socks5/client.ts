/**
 * The client side of the SOCKS5 handshake, as KumoMTA's kumod sends it to a
 * proxy: greeting, RFC 1929 authentication when selected, optionally
 * `BIND <source-ip>:0` to choose the source address, then `CONNECT`.
 * Egress uses it to send through upstream proxies; health checks use
 * {@linkcode socks5Probe}.
 *
 * One file because it is one exchange: the client side of the handshake
 * kumod performs (greeting, RFC 1929, BIND, CONNECT) and the probe that is
 * its first half, sharing their error classes.
 *
 * @module
 */
import { type Conn, formatHostPort } from "../runtime/index.ts";
import type { SocksAddress } from "./address.ts";
import {
  type Decoded,
  decodeMethodSelection,
  decodeReply,
  decodeUsernamePasswordReply,
  encodeGreeting,
  encodeRequest,
  encodeUsernamePasswordRequest,
  type Reply,
} from "./codec.ts";
import { AUTH_STATUS, CMD, METHOD, REP, repText, SOCKS_VERSION } from "./constants.ts";
import { Socks5ClientError, type Socks5ClientStage, Socks5EofError, Socks5ProtocolError } from "./errors.ts";
import { ByteReader } from "./reader.ts";

/** RFC 1929 credentials; each 1-255 bytes of UTF-8 (the password may be empty). */
export interface Socks5Credentials {
  /** UNAME. */
  username: string;
  /** PASSWD. */
  password: string;
}

/** Options of {@linkcode socks5Probe}. */
export interface Socks5ProbeOptions {
  /**
   * Credentials to offer: the greeting then offers USERNAME/PASSWORD (0x02)
   * besides NO AUTHENTICATION REQUIRED (0x00). Without it only 0x00 is
   * offered. Source: RFC 1928 section 3, RFC 1929.
   */
  auth?: Socks5Credentials;
  /**
   * Source IP literal the proxy should connect from (KumoMTA's
   * `socks5_proxy_source_address`): sent as `BIND <bindAddress>:0` before
   * anything else; the proxy must answer REP 0x00.
   */
  bindAddress?: string;
  /**
   * Abort the handshake: the pending step rejects with a
   * {@linkcode Socks5ClientError} of that step whose `cause` is
   * `signal.reason`. The caller still closes the connection.
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode socks5ClientHandshake}. */
export interface Socks5ClientOptions extends Socks5ProbeOptions {
  /** DST.ADDR and DST.PORT of the CONNECT request. */
  destination: SocksAddress;
}

/** Outcome of a successful {@linkcode socks5ClientHandshake}. */
export interface Socks5ClientResult {
  /** BND.ADDR/BND.PORT of the CONNECT reply: the proxy's outbound socket. */
  bndAddr: SocksAddress;
  /**
   * Bytes the proxy sent after its CONNECT reply in the same read (e.g. the
   * start of an SMTP banner): they belong to the relayed stream.
   */
  buffered: Uint8Array;
}

/** Outcome of a successful {@linkcode socks5Probe}. */
export interface Socks5ProbeResult {
  /** METHOD the proxy selected (0x00 or 0x02). */
  method: number;
  /** BND.ADDR/BND.PORT of the BIND reply, when `bindAddress` was set. */
  bindBndAddr?: SocksAddress;
}

/** Messages to send, encoded up front so that bad options fail before any I/O. */
interface Plan {
  greeting: Uint8Array;
  auth?: Uint8Array;
  bind?: Uint8Array;
  offered: number[];
}

function plan(options: Socks5ProbeOptions): Plan {
  const offered: number[] = [METHOD.NO_AUTHENTICATION_REQUIRED];
  if (options.auth) offered.push(METHOD.USERNAME_PASSWORD);
  return {
    offered,
    greeting: encodeGreeting(offered),
    auth: options.auth &&
      encodeUsernamePasswordRequest(
        options.auth.username,
        options.auth.password,
      ),
    bind: options.bindAddress === undefined
      ? undefined
      : encodeRequest(CMD.BIND, { host: options.bindAddress, port: 0 }),
  };
}

/** Run one step; any failure becomes a {@linkcode Socks5ClientError} of `stage`. */
async function step<T>(
  stage: Socks5ClientStage,
  what: string,
  signal: AbortSignal | undefined,
  run: () => Promise<T>,
): Promise<T> {
  let onAbort: (() => void) | undefined;
  try {
    if (signal === undefined) return await run();
    signal.throwIfAborted();
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    return await Promise.race([run(), aborted]);
  } catch (error) {
    if (error instanceof Socks5ClientError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new Socks5ClientError(stage, `SOCKS5 ${stage}: ${what}: ${detail}`, {
      cause: error,
    });
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * {@linkcode decodeReply}, but an error reply whose address part is broken
 * still yields its REP: what matters to the caller is that the proxy said no.
 */
function decodeReplyLenient(
  bytes: Uint8Array,
): Decoded<Partial<Reply> & { rep: number }> | null {
  try {
    return decodeReply(bytes);
  } catch (error) {
    if (
      error instanceof Socks5ProtocolError && bytes.length >= 2 &&
      bytes[0] === SOCKS_VERSION &&
      bytes[1] !== REP.SUCCEEDED
    ) return { value: { rep: bytes[1] }, length: bytes.length };
    throw error;
  }
}

/** Send a BIND or CONNECT request and return the BND of its success reply. */
async function request(
  conn: Pick<Conn, "read" | "write">,
  reader: ByteReader,
  stage: "bind" | "connect",
  bytes: Uint8Array,
  target: string,
  signal: AbortSignal | undefined,
): Promise<SocksAddress> {
  const verb = stage === "bind" ? "BIND" : "CONNECT";
  await step(
    stage,
    `sending ${verb} ${target}`,
    signal,
    () => conn.write(bytes),
  );
  const reply = await step(
    stage,
    `reading the ${verb} reply`,
    signal,
    async () => {
      try {
        return await reader.next(decodeReplyLenient);
      } catch (error) {
        // A proxy that sends `VER REP` of an error reply and closes still said why.
        const got = error instanceof Socks5EofError ? error.received : undefined;
        if (
          got && got.length >= 2 && got[0] === SOCKS_VERSION &&
          got[1] !== REP.SUCCEEDED
        ) {
          return { rep: got[1], bndAddr: undefined };
        }
        throw error;
      }
    },
  );
  if (reply.rep !== REP.SUCCEEDED || reply.bndAddr === undefined) {
    const hex = reply.rep.toString(16).padStart(2, "0");
    throw new Socks5ClientError(
      stage,
      `SOCKS5 ${stage}: proxy answered ${verb} ${target} with REP 0x${hex} (${repText(reply.rep)})`,
      { rep: reply.rep },
    );
  }
  return reply.bndAddr;
}

/** Greeting, RFC 1929 when selected, BIND when planned. */
async function negotiate(
  conn: Pick<Conn, "read" | "write">,
  reader: ByteReader,
  planned: Plan,
  options: Socks5ProbeOptions,
): Promise<Socks5ProbeResult> {
  const { signal } = options;
  await step(
    "greeting",
    "sending the greeting",
    signal,
    () => conn.write(planned.greeting),
  );
  const { method } = await step(
    "greeting",
    "reading the method selection",
    signal,
    () => reader.next(decodeMethodSelection),
  );
  if (method === METHOD.NO_ACCEPTABLE_METHODS) {
    throw new Socks5ClientError(
      "greeting",
      planned.auth
        ? "SOCKS5 greeting: proxy accepts neither no authentication nor username/password"
        : "SOCKS5 greeting: proxy accepts no offered method (does it require username/password?)",
    );
  }
  if (!planned.offered.includes(method)) {
    throw new Socks5ClientError(
      "greeting",
      `SOCKS5 greeting: proxy selected METHOD 0x${method.toString(16).padStart(2, "0")}, which was not offered`,
    );
  }
  if (method === METHOD.USERNAME_PASSWORD && planned.auth) {
    const authRequest = planned.auth;
    await step(
      "auth",
      "sending the RFC 1929 request",
      signal,
      () => conn.write(authRequest),
    );
    const { status } = await step(
      "auth",
      "reading the RFC 1929 reply",
      signal,
      () => reader.next(decodeUsernamePasswordReply),
    );
    if (status !== AUTH_STATUS.SUCCESS) {
      throw new Socks5ClientError(
        "auth",
        `SOCKS5 auth: proxy rejected the username/password (RFC 1929 STATUS 0x${status.toString(16).padStart(2, "0")})`,
      );
    }
  }
  if (planned.bind === undefined) return { method };
  const target = formatHostPort({ host: options.bindAddress ?? "", port: 0 });
  const bindBndAddr = await request(
    conn,
    reader,
    "bind",
    planned.bind,
    target,
    signal,
  );
  return { method, bindBndAddr };
}

/**
 * Perform the client handshake on `conn` (already connected to the proxy):
 * greeting offering NO AUTHENTICATION REQUIRED, plus USERNAME/PASSWORD when
 * `auth` is given (RFC 1928 section 3); RFC 1929 when the proxy selects it;
 * `BIND <bindAddress>:0` when set (KumoMTA's source-address selection); then
 * `CONNECT destination` (RFC 1928 section 4). Reads one message at a time.
 *
 * Not bounded in time by itself: pass `signal`, or close `conn`, to give up.
 *
 * @returns the CONNECT reply's BND.ADDR and any bytes read past it.
 * @throws {Socks5ClientError} with `stage` and, for an error reply to BIND
 * or CONNECT, `rep` (e.g. `{ stage: "connect", rep: 5 }` when the
 * destination refused). Only a connect-stage error with a `rep` is about the
 * destination; all others mean the proxy failed.
 * @throws {RangeError} before any byte is sent, when the options cannot be
 * encoded (credentials too long, empty username, bad port, ...).
 *
 * @example
 * ```ts
 * const conn = await runtime.connect({ host: "192.0.2.10", port: 5000 });
 * const { bndAddr, buffered } = await socks5ClientHandshake(conn, {
 *   bindAddress: "192.0.2.55",
 *   destination: { host: "mx.example.com", port: 25 },
 * });
 * ```
 */
export async function socks5ClientHandshake(
  conn: Pick<Conn, "read" | "write">,
  options: Socks5ClientOptions,
): Promise<Socks5ClientResult> {
  const planned = plan(options);
  const connect = encodeRequest(CMD.CONNECT, options.destination);
  const reader = new ByteReader(conn);
  await negotiate(conn, reader, planned, options);
  const bndAddr = await request(
    conn,
    reader,
    "connect",
    connect,
    formatHostPort(options.destination),
    options.signal,
  );
  return { bndAddr, buffered: reader.takeBuffered() };
}

/**
 * Check that a proxy is healthy without connecting anywhere: greeting,
 * RFC 1929 when selected and, when `bindAddress` is set, the BIND of the
 * source address; then the caller closes `conn`. Used by active health
 * checks.
 *
 * @throws {Socks5ClientError} stage `"greeting"`, `"auth"` or `"bind"`
 * (with `rep` for an error reply to BIND).
 * @throws {RangeError} before any byte is sent, when the options cannot be
 * encoded.
 */
export async function socks5Probe(
  conn: Pick<Conn, "read" | "write">,
  options: Socks5ProbeOptions = {},
): Promise<Socks5ProbeResult> {
  return await negotiate(conn, new ByteReader(conn), plan(options), options);
}
