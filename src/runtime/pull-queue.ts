/**
 * The pull-mode read side of a push-based socket (Bun's sockets, `node:net`
 * sockets), shared by `bun/conn.ts` and `node/conn.ts`: received chunks go
 * to the pending {@linkcode Conn.read} if there is one, else into a queue;
 * above {@linkcode PULL_HIGH_WATER} queued bytes the socket is paused until
 * reads drain the queue below it again.
 *
 * Small on purpose: the chunk array is made only when a chunk has to wait,
 * and a `BunConn` makes its `PullQueue` only when it is read in pull mode
 * (handshakes) and drops it when it starts piping, so an idle tunnel holds
 * none of it.
 *
 * @module
 */

import type { NetError } from "./errors.ts";

/** Queued bytes at or above which the socket is paused (one limit for every runtime). */
export const PULL_HIGH_WATER = 64 * 1024;

/** What the queue needs of the socket: stop and restart reading from the kernel. */
export interface FlowControl {
  /** Stop delivering data. */
  pause(): void;
  /** Deliver data again after {@linkcode pause}. */
  resume(): void;
}

/**
 * Received chunks waiting for {@linkcode Conn.read}, the one pending read,
 * and the pause state of the socket they come from.
 *
 * @example
 * ```ts
 * const q = new PullQueue(socket);      // a node:net socket or a Bun socket
 * socket.on("data", (d) => q.push(d));
 * const chunk = q.shift(true) ?? await q.next();
 * ```
 */
export class PullQueue {
  #flow: FlowControl;
  #chunks: Uint8Array[] | null = null;
  #queued = 0;
  #paused = false;
  #detached = false;
  #reader: { resolve: (v: Uint8Array | null) => void; reject: (e: unknown) => void } | null = null;

  /** A queue for the socket `flow` (paused and resumed by it). */
  constructor(flow: FlowControl) {
    this.#flow = flow;
  }

  /** Whether the queue has paused the socket (and not resumed it since). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Received bytes: to the pending {@linkcode next}, else queued (pausing the socket at the high-water mark). */
  push(d: Uint8Array): void {
    const r = this.#reader;
    if (r) {
      this.#reader = null;
      r.resolve(d);
      return;
    }
    (this.#chunks ??= []).push(d);
    this.#queued += d.length;
    if (this.#queued >= PULL_HIGH_WATER && !this.#paused && !this.#detached) {
      this.#paused = true;
      this.#flow.pause();
    }
  }

  /**
   * The oldest queued chunk, or `undefined` when none is queued. With
   * `resume`, a paused socket is resumed once the queue is below the
   * high-water mark (a read); without, it stays paused (a caller about to
   * take the socket over, e.g. to start piping).
   */
  shift(resume: boolean): Uint8Array | undefined {
    const d = this.#chunks?.shift();
    if (d === undefined) return undefined;
    this.#queued -= d.length;
    if (resume && this.#paused && this.#queued < PULL_HIGH_WATER && !this.#detached) {
      this.#paused = false;
      this.#flow.resume();
    }
    return d;
  }

  /**
   * Wait for the next {@linkcode push} (call only with nothing queued and no
   * other wait pending); a paused socket is resumed first. Settled by
   * {@linkcode push} or {@linkcode settle}.
   */
  next(): Promise<Uint8Array | null> {
    if (this.#paused && !this.#detached) {
      this.#paused = false;
      this.#flow.resume();
    }
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  /** End a pending {@linkcode next}: resolve `null` (EOF, close), or reject with `error`. */
  settle(error: NetError | null): void {
    const r = this.#reader;
    if (!r) return;
    this.#reader = null;
    if (error) r.reject(error);
    else r.resolve(null);
  }

  /** The socket is closed: never pause or resume it again. Queued chunks stay readable. */
  detach(): void {
    this.#detached = true;
  }
}
