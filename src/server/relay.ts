/**
 * The relay: after a successful CONNECT, bytes flow both ways until both
 * sides are done. A FIN from one side is passed on as a FIN (half-close) while
 * the other direction keeps flowing; backpressure comes from
 * {@linkcode Conn.pipeTo}, so memory per tunnel stays bounded.
 *
 * The listener's `idle_timeout` is enforced by one shared sweep over the
 * live tunnels that have one (not a timer per tunnel, nor a timer reset per
 * chunk): the hot path only adds to the byte totals it keeps anyway, and the
 * sweep compares each tunnel's totals with what it saw last time. A tunnel
 * is closed between `idle_timeout` and `idle_timeout` plus two sweep periods
 * (a quarter of the smallest live `idle_timeout`, between 50 ms and 1 s)
 * after its last byte.
 *
 * @module
 */
import type { Conn } from "../runtime/index.ts";
import type { Direction } from "./observer.ts";

/** Byte totals of one tunnel. */
export interface RelayResult {
  /** Bytes from the client to the destination. */
  clientToDest: number;
  /** Bytes from the destination to the client. */
  destToClient: number;
  /** The first I/O error on either side, if any (the tunnel was then torn down). */
  error?: unknown;
  /** `true` when the tunnel was closed for carrying no byte for `idleTimeout` seconds. */
  idle?: boolean;
}

/** Options of {@linkcode relay}. */
export interface RelayOptions {
  /** Close the tunnel after this many seconds without a byte either way; 0 or absent: never. */
  idleTimeout?: number;
}

/** One tunnel watched by the idle sweep. */
interface Watched {
  result: RelayResult;
  idleMs: number;
  /** Byte total at the last sweep that saw it change. */
  seen: number;
  /** When the total last changed (as seen by the sweep). */
  since: number;
  close: () => void;
}

/** The shared idle sweep: runs only while a watched tunnel is live. */
const watched = new Set<Watched>();
let sweepTimer: ReturnType<typeof setInterval> | undefined;
let sweepMs = Infinity;

function sweep(): void {
  const now = performance.now();
  for (const w of watched) {
    const total = w.result.clientToDest + w.result.destToClient;
    if (total !== w.seen) {
      w.seen = total;
      w.since = now;
    } else if (now - w.since >= w.idleMs) {
      watched.delete(w);
      w.result.idle = true;
      w.close();
    }
  }
  if (watched.size === 0) stopSweep();
}

function stopSweep(): void {
  if (sweepTimer !== undefined) clearInterval(sweepTimer);
  sweepTimer = undefined;
  sweepMs = Infinity;
}

function watch(w: Watched): void {
  watched.add(w);
  const period = Math.min(1000, Math.max(50, w.idleMs / 4));
  if (period < sweepMs) {
    if (sweepTimer !== undefined) clearInterval(sweepTimer);
    sweepMs = period;
    sweepTimer = setInterval(sweep, period);
  }
}

function unwatch(w: Watched): void {
  watched.delete(w);
  if (watched.size === 0) stopSweep();
}

/**
 * Relay between `client` and `dest` until both directions have seen FIN, or
 * until an I/O error on either side, or (with `options.idleTimeout`) until
 * no byte has moved either way for that long, then close both sockets.
 *
 * @param onBytes called as each chunk is forwarded, with its direction and size in bytes.
 * @returns the byte totals and the error that ended the tunnel, if any. Never rejects.
 */
export async function relay(
  client: Conn,
  dest: Conn,
  onBytes: (direction: Direction, bytes: number) => void,
  options: RelayOptions = {},
): Promise<RelayResult> {
  const result: RelayResult = { clientToDest: 0, destToClient: 0 };
  const closeBoth = () => {
    client.close();
    dest.close();
  };
  const fail = (error: unknown) => {
    if (!result.idle) result.error ??= error;
    closeBoth();
  };
  const idleMs = (options.idleTimeout ?? 0) * 1000;
  const w: Watched | undefined = idleMs > 0
    ? { result, idleMs, seen: 0, since: performance.now(), close: closeBoth }
    : undefined;
  if (w !== undefined) watch(w);
  await Promise.all([
    client.pipeTo(dest, (n) => {
      result.clientToDest += n;
      onBytes("client_to_dest", n);
    }).catch(fail),
    dest.pipeTo(client, (n) => {
      result.destToClient += n;
      onBytes("dest_to_client", n);
    }).catch(fail),
  ]);
  if (w !== undefined) unwatch(w);
  closeBoth();
  return result;
}
