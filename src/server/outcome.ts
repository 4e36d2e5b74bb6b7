/**
 * The one value a session ends in: who came in where, what they asked for,
 * what the proxy answered and connected to, how it ended and how many bytes
 * flowed. The metrics observer and (later) the access log both consume it,
 * so neither reaches into the session. {@linkcode accessEnd} names the end
 * as the access log does.
 *
 * @module
 */
import type { NetAddr } from "../runtime/index.ts";
import type { SocksAddress } from "../socks5/index.ts";
import type { FailureReason } from "./observer.ts";

/**
 * How a session ended.
 *
 * - `completed`: a request was answered (success, or an error REP such as
 *   0x05 for a refused CONNECT, or 0x02 for a ruleset denial of a request)
 *   and the tunnel, if any, ended cleanly; also a client that closed
 *   between messages (a health check stopping after the greeting or BIND).
 * - `auth_failed`: the RFC 1929 check failed (status 0x01 sent).
 * - `no_acceptable_method`: METHOD X'FF' was answered (RFC 1928 §3).
 * - `protocol_error`: not SOCKS5, a malformed message, or EOF inside one.
 * - `denied`: an access hook refused the client ({@linkcode SessionAccess}).
 * - `timeout`: a handshake step exceeded the listener `timeout`.
 * - `relay_error`: an I/O error on either side tore the tunnel down.
 * - `error`: any other I/O error (e.g. writing a reply to a client that left).
 * - `idle`: the tunnel carried no byte either way for the listener's
 *   `idle_timeout` and was closed on both sides.
 * - `shutdown`: the session was still open when the server's grace period
 *   ran out and was closed by the server.
 */
export type SessionEnd =
  | "completed"
  | "auth_failed"
  | "no_acceptable_method"
  | "protocol_error"
  | "denied"
  | "timeout"
  | "relay_error"
  | "error"
  | "shutdown"
  | "idle";

/**
 * Everything known about one session when it ends. Allocated once, at
 * accept, and filled in as the session goes; handed to
 * {@linkcode ProxyObserver.sessionEnded} (and to access hooks, read-only,
 * as it stands at each hook point).
 *
 * Addresses are kept as {@linkcode NetAddr} objects; format them with
 * `formatHostPort` (`ip:port`, `[v6]:port`) where a line of text is needed.
 */
export interface SessionOutcome {
  /**
   * The proxy listener's bound address, `ip:port` or `[v6]:port` with the
   * real port (the `listener` label of the metrics and the access log, as
   * KumoProxy reports it).
   */
  listener: string;
  /** The listener's configured `listen` text, which access rules (`listeners`) and limits are keyed by. */
  listen: string;
  /** The client's address (IP and source port). */
  client: NetAddr;
  /**
   * The RFC 1929 UNAME the client authenticated as; for `end` `auth_failed`,
   * the UNAME it tried (never the password); undefined for method 0x00.
   */
  user: string | undefined;
  /** CMD of the last request (RFC 1928 §4: 0x01 CONNECT, 0x02 BIND, 0x03 UDP ASSOCIATE); undefined before one. */
  command: number | undefined;
  /** DST.ADDR of an accepted BIND: the source address KumoMTA pinned (BIND-then-CONNECT). */
  bindAddress: string | undefined;
  /** DST.ADDR:DST.PORT of the CONNECT request, as the client asked (a host name stays a name). */
  destination: SocksAddress | undefined;
  /**
   * The address actually connected to (the outbound socket's peer). Filled
   * only when the observer has {@linkcode ProxyObserver.sessionEnded}, so
   * sessions nobody logs do not pay for reading it.
   */
  connected: NetAddr | undefined;
  /** The outbound socket's local address, as sent in the CONNECT reply's BND.ADDR/BND.PORT. */
  localAddress: NetAddr | undefined;
  /** REP of the last reply sent (RFC 1928 §6); undefined when no reply was sent. */
  reply: number | undefined;
  /** How the session ended. */
  end: SessionEnd;
  /**
   * For `end` `relay_error`: the side whose socket failed first (`client` or
   * `dest`). Both directions always have a read pending, so a reset is seen
   * first by the read on the socket that was reset: the direction whose
   * pipe failed first names the side, or, for `EPIPE` (only a write raises
   * it), the socket it was writing to (see `relay.ts`).
   */
  failedSide: "client" | "dest" | undefined;
  /** A one-line explanation of `end` for logs (never a password). */
  detail: string | undefined;
  /** Bytes relayed from the client to the destination (including bytes pipelined behind the request). */
  bytesUp: number;
  /** Bytes relayed from the destination to the client. */
  bytesDown: number;
  /** Greeting to CONNECT reply, seconds (the `proxy_handshake_duration_seconds` sample); undefined without a tunnel. */
  handshakeSeconds: number | undefined;
  /**
   * Accept to close, seconds. Filled only when the observer has
   * {@linkcode ProxyObserver.sessionEnded} (otherwise 0): it costs a clock read.
   * Also 0 for the outcome of a failed TLS handshake (the runtime does not
   * say when that connection was accepted).
   */
  durationSeconds: number;
  /** The egress pool the CONNECT went through, when the dialer used one. */
  egressPool: string | undefined;
  /** The egress source within that pool, when the dialer reports it. */
  egressSource: string | undefined;
}

/**
 * A fresh outcome for a session accepted on `listener` (the bound-address
 * label) from `client`, configured as `listen` (default: `listener`), every
 * field present (one object shape for every session) and `end` provisionally
 * `"error"` until a step says otherwise.
 */
export function newOutcome(listener: string, client: NetAddr, listen: string = listener): SessionOutcome {
  return {
    listener,
    listen,
    client,
    user: undefined,
    command: undefined,
    bindAddress: undefined,
    destination: undefined,
    connected: undefined,
    localAddress: undefined,
    reply: undefined,
    end: "error",
    failedSide: undefined,
    detail: undefined,
    bytesUp: 0,
    bytesDown: 0,
    handshakeSeconds: undefined,
    durationSeconds: 0,
    egressPool: undefined,
    egressSource: undefined,
  };
}

/**
 * The `proxy_connections_failed_total` reason of an outcome, or undefined
 * when the session counts as completed (`proxy_connections_completed_total`).
 * `protocol_error`, `no_acceptable_method` and `error` are `handshake`
 * failures; a `denied` session that got a reply (REP 0x02 to a request) is
 * completed, one denied before any request is a `denied` failure. A
 * `shutdown` is classified by what the session saw when it was closed; call
 * this before `end` is set to `"shutdown"`.
 */
export function failureReason(outcome: SessionOutcome): FailureReason | undefined {
  switch (outcome.end) {
    case "completed":
    case "shutdown":
      return undefined;
    case "auth_failed":
      return "auth";
    case "timeout":
      return "timeout";
    case "relay_error":
      return "relay";
    case "idle":
      return "idle";
    case "denied":
      return outcome.reply === undefined ? "denied" : undefined;
    default:
      return "handshake";
  }
}

/**
 * The access log's name for how a session ended: `completed`, `auth_failed`
 * (also `no_acceptable_method`: the client offered no method the listener
 * accepts, e.g. no-auth where `require_auth` is set), `denied`, `timeout`,
 * `idle`, `client_reset` and `dest_reset` (a `relay_error`, by
 * {@linkcode SessionOutcome.failedSide}; `error` when the side is unknown),
 * `error` (also `protocol_error`: not SOCKS5 or a malformed message; the
 * detail says which), `shutdown`.
 */
export function accessEnd(outcome: SessionOutcome): string {
  switch (outcome.end) {
    case "no_acceptable_method":
      return "auth_failed";
    case "protocol_error":
      return "error";
    case "relay_error":
      return outcome.failedSide === "client" ? "client_reset" : outcome.failedSide === "dest" ? "dest_reset" : "error";
    default:
      return outcome.end;
  }
}
