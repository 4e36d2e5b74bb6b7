/**
 * The access log's side of a session: {@linkcode accessFields} turns a
 * {@linkcode SessionOutcome} into the fields of its line, and
 * {@linkcode withAccessLog} adds the line to any {@linkcode ProxyObserver}
 * (the metrics observer, in the CLI), at its `sessionEnded` seam.
 *
 * @module
 */
import { formatHostPort, type NetAddr } from "../runtime/index.ts";
import { type AccessFields, accessLogEnabled, getLog, logAccess, rateLimited } from "../log/index.ts";
import { commandName, repName } from "../socks5/index.ts";
import type { ProxyObserver } from "./observer.ts";
import { accessEnd, type SessionOutcome } from "./outcome.ts";

/**
 * `ip:port` of an address; `"unknown"` when the runtime could not tell it
 * (Bun reports no remote address for a client that is already gone).
 */
function hostPort(addr: NetAddr): string {
  return typeof addr.host === "string" ? formatHostPort(addr) : "unknown";
}

/** Rounded to `digits` decimals (for milliseconds and seconds in the line). */
function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * The access-log fields of an outcome: addresses as `ip:port`, the command
 * and reply by name (`connect`, `connection_refused`), `end` as
 * {@linkcode accessEnd} names it, `handshake_ms` to the microsecond,
 * `duration_s` to the microsecond. Undefined fields are left out of the line.
 */
export function accessFields(o: SessionOutcome): AccessFields {
  return {
    listener: o.listener,
    client: hostPort(o.client),
    user: o.user,
    command: o.command === undefined ? undefined : commandName(o.command),
    bind_address: o.bindAddress,
    egress_source: o.egressSource,
    egress_pool: o.egressPool,
    destination: o.destination === undefined ? undefined : formatHostPort(o.destination),
    connected: o.connected === undefined ? undefined : hostPort(o.connected),
    local_address: o.localAddress === undefined ? undefined : hostPort(o.localAddress),
    reply: o.reply === undefined ? undefined : repName(o.reply),
    bytes_up: o.bytesUp,
    bytes_down: o.bytesDown,
    handshake_ms: o.handshakeSeconds === undefined ? undefined : round(o.handshakeSeconds * 1000, 3),
    duration_s: round(o.durationSeconds, 6),
    end: accessEnd(o),
    detail: o.detail,
  };
}

/** A line that could not be written: one ERROR a minute (an observer must not throw). */
const failures = rateLimited(getLog("server"), 60);

/**
 * Write the access line of `outcome` when the access log is enabled (one
 * level check; the fields are built only when it passes). Never throws.
 */
export function logSession(outcome: SessionOutcome): void {
  if (!accessLogEnabled()) return;
  try {
    logAccess(accessFields(outcome));
  } catch (error) {
    failures.log("error", "access", "cannot write an access line: {error}", { error: String(error) });
  }
}

/**
 * `observer` with the access log added: every member is `observer`'s own
 * (bound, so the per-chunk `relayed` costs no extra call), and
 * `sessionEnded` calls `observer.sessionEnded` (if any), then writes the
 * session's access line.
 *
 * @example
 * ```ts
 * const observer = withAccessLog(new MetricsObserver(metrics, options));
 * await ProxyServer.start({ runtime, listeners, users, observer });
 * ```
 */
export function withAccessLog(observer: ProxyObserver): ProxyObserver {
  const ended = observer.sessionEnded?.bind(observer);
  // Every member of ProxyObserver, optional ones included, must be listed:
  // a member added to the interface and forgotten here is a type error, not
  // a metric that silently stops counting.
  const wrapped: { [K in keyof Required<ProxyObserver>]: ProxyObserver[K] } = {
    accepted: observer.accepted.bind(observer),
    closed: observer.closed.bind(observer),
    failed: observer.failed.bind(observer),
    completed: observer.completed.bind(observer),
    authFailed: observer.authFailed.bind(observer),
    handshakeDone: observer.handshakeDone.bind(observer),
    outbound: observer.outbound.bind(observer),
    relayed: observer.relayed.bind(observer),
    tlsHandshakeFailed: observer.tlsHandshakeFailed.bind(observer),
    connectionDenied: observer.connectionDenied?.bind(observer),
    acceptFailed: observer.acceptFailed?.bind(observer),
    listening: observer.listening?.bind(observer),
    sessionEnded: ended === undefined ? logSession : (outcome) => {
      ended(outcome);
      logSession(outcome);
    },
  };
  return wrapped;
}
