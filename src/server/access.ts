/**
 * Where access decisions plug into a session: the hook points of the
 * access-control and accounting work, with no policy of their own. Every
 * hook is optional and an absent hook allows; today no hook is set, and a
 * session with no {@linkcode SessionAccess} pays one property check per
 * hook point. The server sets {@linkcode PolicyAccess} (`access-control.ts`)
 * unless `ProxyServerOptions.access` gives other hooks.
 *
 * What a denial does at each point:
 * - {@linkcode SessionAccess.admit} (after accept, before the greeting):
 *   the connection is closed without a reply.
 * - {@linkcode SessionAccess.authenticated} (after method negotiation and,
 *   for method 0x02, a successful RFC 1929 check): status 0x01 (RFC 1929
 *   §2) when the client authenticated, else a plain close.
 * - {@linkcode SessionAccess.bind} (before a BIND's source address is
 *   probed) and {@linkcode SessionAccess.connect} (before a CONNECT is
 *   dialled): REP 0x02, connection not allowed by ruleset (RFC 1928 §6).
 * - {@linkcode SessionAccess.connectAddress} (per resolved address, called
 *   by a dialer): the dialer rejects with {@linkcode AccessDeniedError},
 *   answered REP 0x02.
 * Each ends the session with `end: "denied"`.
 *
 * @module
 */
import type { NetAddr } from "../runtime/index.ts";
import { REP, type SocksAddress } from "../socks5/index.ts";
import type { SessionOutcome } from "./outcome.ts";

/** An access decision: allow, or deny with a reason for the log. */
export type AccessDecision = { readonly allow: true } | { readonly allow: false; readonly reason: string };

/** A hook's answer, synchronous or not (a shared limit may live in Redis). */
export type AccessAnswer = AccessDecision | Promise<AccessDecision>;

/**
 * The access hooks of a listener's sessions. Each receives the session's
 * {@linkcode SessionOutcome} as it stands at that point (listener, client,
 * user, command, bindAddress, destination so far), read-only.
 */
export interface SessionAccess {
  /** After accept: may this client use the listener at all? */
  admit?(session: Readonly<SessionOutcome>): AccessAnswer;
  /** After authentication (`session.user` is the RFC 1929 UNAME, or undefined for method 0x00). */
  authenticated?(session: Readonly<SessionOutcome>): AccessAnswer;
  /** Before BIND: may this client send from `source` (KumoMTA's `BIND <source-ip>:0`)? */
  bind?(session: Readonly<SessionOutcome>, source: string): AccessAnswer;
  /** Before CONNECT: may this client reach `destination` (DST.ADDR as asked, a name stays a name)? */
  connect?(session: Readonly<SessionOutcome>, destination: SocksAddress): AccessAnswer;
  /**
   * Before connecting to one resolved address of the destination. Passed to
   * the {@linkcode Dialer} as `OutboundRequest.checkAddress`; a dialer that
   * resolves DST.ADDR itself asks it for each address before trying it.
   */
  connectAddress?(session: Readonly<SessionOutcome>, address: NetAddr): AccessAnswer;
  /**
   * The session is over (called once, for every session, admitted or not,
   * before the observer's `sessionEnded`): give back what the hooks hold
   * for it (connection and user counts).
   */
  ended?(session: Readonly<SessionOutcome>): void;
}

/**
 * Rejection of a dialer whose {@linkcode SessionAccess.connectAddress} hook
 * denied every address it would try; answered REP 0x02 (`rep`, as
 * `replyForConnectError` reads it).
 */
export class AccessDeniedError extends Error {
  /** REP 0x02, connection not allowed by ruleset. */
  readonly rep: number = REP.CONNECTION_NOT_ALLOWED;
  /** @param reason the hook's reason. */
  constructor(reason: string) {
    super(`access denied: ${reason}`);
    this.name = "AccessDeniedError";
  }
}
