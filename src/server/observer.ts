/**
 * What a proxy listener reports about its sessions. The metrics module
 * implements it; the server only calls it. Every method receives the
 * listener's bound address as KumoProxy reports it (`127.0.0.1:40123`,
 * `[::1]:1080`: the real port when the config says 0; one per address of a
 * listener written with a host name), the `listener` label of the metrics.
 *
 * @module
 */

import { DENIAL_REASONS, type DenialReason } from "../access/index.ts";
import type { SessionOutcome } from "./outcome.ts";

/** Direction of relayed bytes, named as KumoProxy's byte counters are. */
export type Direction = "client_to_dest" | "dest_to_client";

/**
 * Why a session ended in failure (for logs and metrics): a bad handshake
 * (not SOCKS5, malformed, no acceptable method, an I/O error before the
 * tunnel), an RFC 1929 failure, a step timeout, a relay I/O error, or an
 * access hook's denial before any request (see `failureReason` in
 * `outcome.ts` for the mapping from a {@linkcode SessionOutcome}).
 */
export type FailureReason = "handshake" | "auth" | "timeout" | "relay" | "denied" | "idle";

/**
 * Why access control refused a connection or request: the `reason` label of
 * `proxy_connections_denied_total` (see `DenialReason` in `src/access/`),
 * plus `self`, a CONNECT to one of the proxy's own listeners.
 */
export type DeniedReason = DenialReason | "self";

/** Every {@linkcode DeniedReason}, for declaring the metric's label values up front. */
export const DENIED_REASONS: readonly DeniedReason[] = Object.freeze([...DENIAL_REASONS, "self"]);

/**
 * Why an accept failed or an accepted connection was closed at once: the
 * `reason` label of `proxy_accept_errors_total`. `emfile` and `enfile`: the
 * process (EMFILE) or the system (ENFILE) is out of file descriptors, or
 * the connection was closed at once because the process is within the
 * descriptor budget's margin of its limit (`descriptor-budget.ts`);
 * `enotconn` and `econnaborted`: the client left while it waited in the
 * accept queue (Deno); `other`: any other errno.
 */
export type AcceptErrorReason = "emfile" | "enfile" | "enotconn" | "econnaborted" | "other";

/** Session events; see each member. All are synchronous and must not throw. */
export interface ProxyObserver {
  /** A client connection was accepted (the active count goes up). */
  accepted(listener: string): void;
  /** The session ended (the active count goes down); called exactly once per `accepted`. */
  closed(listener: string): void;
  /** The session failed: bad handshake, authentication failure, a timeout, or a relay I/O error. */
  failed(listener: string, reason: FailureReason): void;
  /** The session completed: a request was answered (success or an error reply) and the tunnel, if any, ended cleanly. */
  completed(listener: string): void;
  /** An RFC 1929 check failed. */
  authFailed(listener: string): void;
  /** The handshake (greeting to CONNECT reply) took `seconds`. */
  handshakeDone(listener: string, seconds: number): void;
  /** An outbound connection to `destination` (`host:port`) was made. */
  outbound(listener: string, destination: string): void;
  /** `bytes` were relayed in `direction` (called as bytes flow, not at the end). */
  relayed(listener: string, direction: Direction, bytes: number): void;
  /**
   * A client's TLS handshake on a `use_tls` listener failed or timed out
   * (e.g. a plain-text SOCKS5 client). The connection was closed before any
   * session started, so no other member is called for it but
   * {@linkcode sessionEnded}, right after, with an outcome that has only
   * the listener, the client, `end` `"error"` and a `detail` (for its
   * access-log line). The metrics module maps it to
   * `proxy_tls_handshake_failures_total{listener}` (and counts it as a
   * failed connection).
   */
  tlsHandshakeFailed(listener: string): void;
  /**
   * Access control refused a connection (at accept: closed without a
   * reply) or a request (REP 0x02), for `reason`. Called before the
   * session's `failed` or `completed`. Optional.
   */
  connectionDenied?(listener: string, reason: DeniedReason): void;
  /**
   * A proxy listener was bound and will report under `listener` (its bound
   * address, see the module doc): its series can be created at 0. Called
   * once per bind, at start and for each listener a reload binds. Optional.
   */
  listening?(listener: string): void;
  /**
   * An accept failed (Deno reports each failed `accept()`), or a connection
   * was accepted and closed at once without a session because the process
   * is out of descriptors (see {@linkcode AcceptErrorReason}). No other
   * member is called for it. Optional.
   */
  acceptFailed?(listener: string, reason: AcceptErrorReason): void;
  /**
   * The session is over and `outcome` is its final value: the one seam for
   * an access log (one line per session with the outcome's fields).
   * Called last, after `closed`. Optional: a session whose observer lacks
   * it skips the work only this member needs (`durationSeconds`,
   * `connected`). Nothing changes `outcome` after this call.
   */
  sessionEnded?(outcome: SessionOutcome): void;
}

/** An observer that records nothing (used by tests and library users). */
export const NULL_OBSERVER: ProxyObserver = {
  accepted() {},
  closed() {},
  failed() {},
  completed() {},
  authFailed() {},
  handshakeDone() {},
  outbound() {},
  relayed() {},
  tlsHandshakeFailed() {},
};
