/**
 * The accept loop of a Deno listener, and how it treats accept errors
 * ({@linkcode ListenOptions.onAcceptError}).
 *
 * An accept can fail because of one connection or because of the listener.
 * Deno's `accept()` also reads the peer's address (getpeername), which fails
 * with ENOTCONN for a connection the client reset while it waited in the
 * kernel's accept queue; Deno has then already closed that socket. Such
 * per-connection errors ({@linkcode acceptErrorKind} `"connection"`) are
 * reported and the loop goes on at once: sleeping on each of them let 400
 * resets keep a listener away for 20 s. Every other error (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM, anything unknown) is the listener's: accepting pauses
 * with a bounded backoff, {@linkcode ACCEPT_BACKOFF_MIN_MS} doubling to
 * {@linkcode ACCEPT_BACKOFF_MAX_MS}, and the backoff resets at the next
 * accepted connection, so running out of descriptors neither spins the CPU
 * nor stops the listener for good.
 *
 * Out of descriptors (EMFILE, ENFILE) with a {@linkcode AcceptReserve} (the
 * libev/nginx trick: one descriptor held open for this moment), the reserve
 * is released, the waiting connection accepted and closed at once, and the
 * reserve taken again, so a client in the kernel's accept queue gets a close
 * instead of waiting there; only when that fails too does the loop pause.
 *
 * Nothing here touches `Deno.*`: the loop takes the accept function, so it
 * is tested with a fake one on either runtime.
 *
 * @module
 */

import { toNetError } from "../errors.ts";
import type { ListenOptions } from "../types.ts";

/** First pause (milliseconds) after a listener-level accept error. */
export const ACCEPT_BACKOFF_MIN_MS = 10;
/** Longest pause (milliseconds) between accept attempts while the listener keeps failing. */
export const ACCEPT_BACKOFF_MAX_MS = 1000;

/**
 * Errno names of accept failures that concern one connection only (it was
 * reset or aborted before it was accepted, or its addresses could not be
 * read), after Linux accept(2), which asks for these to be retried at once.
 */
const CONNECTION_ERRORS: ReadonlySet<string> = new Set([
  "ENOTCONN",
  "ECONNABORTED",
  "ECONNRESET",
  "EPROTO",
  "EPERM",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "ENONET",
  "ENOPROTOOPT",
  "EOPNOTSUPP",
]);

/**
 * Whether an accept error (its errno name) concerns one connection, to be
 * skipped at once, or the listener, to be retried after a pause.
 *
 * @example
 * ```ts
 * acceptErrorKind("ENOTCONN"); // "connection"
 * acceptErrorKind("EMFILE");   // "listener"
 * ```
 */
export function acceptErrorKind(code: string): "connection" | "listener" {
  return CONNECTION_ERRORS.has(code) ? "connection" : "listener";
}

/** The pause after `previous` (0: none yet), doubling from the minimum up to the maximum. */
export function nextBackoff(previous: number): number {
  return previous === 0 ? ACCEPT_BACKOFF_MIN_MS : Math.min(previous * 2, ACCEPT_BACKOFF_MAX_MS);
}

/**
 * One spare descriptor held for EMFILE (see the module doc): `release()`
 * closes it (false when none is held), `restore()` opens it again (a no-op
 * when it cannot, e.g. the freed slot was taken meanwhile).
 */
export interface AcceptReserve {
  /** Close the spare descriptor; false when none was held. */
  release(): boolean;
  /** Open the spare descriptor again, if it is not held and one is free. Never throws. */
  restore(): void;
}

/** Errno names of running out of descriptors, where an {@linkcode AcceptReserve} helps. */
const OUT_OF_DESCRIPTORS: ReadonlySet<string> = new Set(["EMFILE", "ENFILE"]);

/** Options of {@linkcode acceptLoop}; `C` is the connection type. */
export interface AcceptLoopOptions<C = unknown> {
  /** True once the listener was closed on purpose: the loop then ends quietly. */
  isClosed(): boolean;
  /** See {@linkcode ListenOptions.onAcceptError}; a throwing callback is ignored. */
  onAcceptError?: ListenOptions["onAcceptError"];
  /** Wait `ms` milliseconds (default: a timer); injectable for tests. */
  delay?: (ms: number) => Promise<void>;
  /** The spare descriptor for EMFILE/ENFILE; without it the loop only pauses. */
  reserve?: AcceptReserve;
  /** Close a connection refused with the reserve's help (default: none is refused without `reserve`). */
  refuse?: (conn: C) => void;
}

/** A timer-based {@linkcode AcceptLoopOptions.delay}. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Accept connections with `accept` and hand each to `onConn` until the
 * listener is closed (or reports EBADF: it is gone). Accept errors go to
 * `options.onAcceptError` and are handled as the module doc says.
 *
 * @example
 * ```ts
 * const l = Deno.listen({ port: 0 });
 * let closed = false;
 * const done = acceptLoop(() => l.accept(), (c) => c.close(), { isClosed: () => closed });
 * ```
 */
export async function acceptLoop<C>(
  accept: () => Promise<C>,
  onConn: (conn: C) => void,
  options: AcceptLoopOptions<C>,
): Promise<void> {
  const delay = options.delay ?? sleep;
  let backoff = 0;
  for (;;) {
    let conn: C;
    try {
      conn = await accept();
    } catch (e) {
      if (options.isClosed()) return;
      const { code } = toNetError(e);
      if (code === "EBADF") return;
      try {
        options.onAcceptError?.(code);
      } catch {
        // The callback must not throw; a bug there must not stop the listener.
      }
      if (acceptErrorKind(code) === "connection") continue;
      if (OUT_OF_DESCRIPTORS.has(code) && options.reserve?.release()) {
        // One free slot: take the waiting connection and close it at once.
        let refused: C | undefined;
        try {
          refused = await accept();
        } catch {
          // Taken meanwhile: pause below. (Had the client left the queue in
          // between, this accept waits for the next client, which is then
          // refused too: one close, and the reserve is back.)
        }
        if (refused !== undefined) options.refuse?.(refused);
        options.reserve.restore();
        if (options.isClosed()) return;
        if (refused !== undefined) continue;
      }
      backoff = nextBackoff(backoff);
      await delay(backoff);
      if (options.isClosed()) return;
      continue;
    }
    backoff = 0;
    onConn(conn);
  }
}
