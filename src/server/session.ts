/**
 * One client connection on a proxy listener: the SOCKS5 state machine of
 * RFC 1928 (method negotiation, requests) and RFC 1929 (username/password),
 * with KumoMTA's BIND-then-CONNECT source-address selection, then the relay.
 *
 * The session runs as explicit steps, each returning what happened (a
 * union on `kind`, see `step.ts`) instead of throwing for an expected
 * outcome: `negotiate` (RFC 1928 §3) and `authenticate` (RFC 1929) in
 * `handshake.ts`, `request` (RFC 1928 §4, once per request, over a
 * `ClientState` modelled on KumoProxy's `ClientState { None, Bound,
 * Connected }`) in `request.ts`, and `tunnel` (the relay) here. Every step
 * writes into one {@linkcode SessionOutcome}, allocated at accept, which
 * `finish` reports. Access hooks (`access.ts`) sit after accept, after
 * authentication, before BIND and before CONNECT.
 *
 * @module
 */
import { type Conn, formatHostPort } from "../runtime/index.ts";
import { ByteReader, METHOD } from "../socks5/index.ts";
import { getLog } from "../log/index.ts";
import type { SessionContext } from "./context.ts";
import { authenticate, negotiate } from "./handshake.ts";
import { failureReason, newOutcome, type SessionOutcome } from "./outcome.ts";
import { relay } from "./relay.ts";
import { type ClientState, request } from "./request.ts";
import { denial, ended, endedBy } from "./step.ts";

const log = getLog("server");

/**
 * The relay after a successful CONNECT: bytes pipelined behind the request
 * go first, then both directions until FIN or an I/O error. Counts the bytes
 * into `o`.
 */
async function tunnel(
  client: Conn,
  reader: ByteReader,
  ctx: SessionContext,
  o: SessionOutcome,
  dest: Conn,
): Promise<void> {
  const observer = ctx.observer;
  const listener = o.listener;
  const early = reader.takeBuffered();
  if (early.length > 0) {
    try {
      await dest.write(early);
    } catch (error) {
      dest.close();
      endedBy(o, error);
      return;
    }
    o.bytesUp = early.length;
    observer.relayed(listener, "client_to_dest", early.length);
  }
  const result = await relay(client, dest, (direction, n) => observer.relayed(listener, direction, n), {
    idleTimeout: ctx.settings.idleTimeout,
  });
  o.bytesUp += result.clientToDest;
  o.bytesDown = result.destToClient;
  if (result.idle) {
    ended(o, "idle", `tunnel idle for ${ctx.settings.idleTimeout}s (idle_timeout)`);
    return;
  }
  if (result.error !== undefined) {
    o.failedSide = result.errorSide;
    ended(o, "relay_error", `relay error: ${String(result.error)}`);
    return;
  }
  log.debug("tunnel to {destination} closed: {up} bytes up, {down} bytes down", {
    destination: formatHostPort(o.destination!),
    up: o.bytesUp,
    down: o.bytesDown,
  });
  o.end = "completed";
}

/**
 * Report the end: `completed` or `failed(reason)` (the reason from
 * {@linkcode failureReason}), close the client, `closed`, then
 * `sessionEnded(outcome)` with the final value.
 */
function finish(client: Conn, ctx: SessionContext, o: SessionOutcome, started: number): void {
  const observer = ctx.observer;
  const listener = o.listener;
  const reason = failureReason(o);
  if (reason === undefined) {
    // A tunnel logged its own close (detail unset); a refused request says why.
    if (o.detail !== undefined) log.debug("{listener}: {message}", { listener, message: o.detail });
    observer.completed(listener);
  } else {
    log.debug("{listener}: session failed ({reason}): {error}", { listener, reason, error: o.detail });
    observer.failed(listener, reason);
  }
  client.close();
  ctx.access?.ended?.(o);
  observer.closed(listener);
  if (observer.sessionEnded) {
    if (ctx.shutdown?.forced) o.end = "shutdown";
    o.durationSeconds = (performance.now() - started) / 1000;
    observer.sessionEnded(o);
  }
}

/**
 * Serve one accepted client connection to its end; never rejects. Closes the
 * client socket when done and reports to `ctx.observer` (ending with
 * `sessionEnded`, when the observer has it).
 *
 * @returns the session's outcome (the same object `sessionEnded` received).
 */
export async function runSession(client: Conn, ctx: SessionContext): Promise<SessionOutcome> {
  const { settings, observer } = ctx;
  const o = newOutcome(settings.listener, client.remoteAddr, settings.listen);
  observer.accepted(o.listener);
  if (settings.keepAlive) client.setKeepAlive(settings.keepAlive);
  const started = performance.now();
  try {
    const admit = ctx.access?.admit;
    const denied = admit && await denial(admit.call(ctx.access, o));
    if (denied !== undefined) {
      ended(o, "denied", denied);
      return o;
    }
    const reader = new ByteReader(client);
    const expire = () => client.close();
    const negotiated = await negotiate(client, reader, ctx, o, expire);
    if (negotiated.kind === "ended") return o;
    // Method 0x00 without an `authenticated` hook has nothing to authenticate.
    if (
      (negotiated.method === METHOD.USERNAME_PASSWORD || ctx.access?.authenticated) &&
      (await authenticate(client, reader, ctx, o, negotiated.method, expire)).kind === "ended"
    ) return o;
    let state: ClientState = "none";
    for (;;) {
      const status = await request(client, reader, ctx, o, state, expire);
      if (status.kind === "ended") return o;
      if (status.kind === "bound") {
        state = "bound";
        continue;
      }
      o.handshakeSeconds = (performance.now() - started) / 1000;
      observer.handshakeDone(o.listener, o.handshakeSeconds);
      await tunnel(client, reader, ctx, o, status.dest);
      return o;
    }
  } catch (error) {
    // Not expected (every step classifies its own errors); still never reject.
    endedBy(o, error);
    return o;
  } finally {
    finish(client, ctx, o, started);
  }
}
