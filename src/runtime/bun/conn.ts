/**
 * {@linkcode Conn} over a Bun socket (`Bun.listen` / `Bun.connect`).
 *
 * Bun delivers bytes by callback (push mode). Handlers are one shared object
 * ({@linkcode BunConn.handlers}) for every socket; the per-socket state is
 * the `BunConn` stored in `socket.data`, so an idle connection costs one
 * small object and no closures.
 *
 * - Pull mode ({@linkcode BunConn.read}): received chunks are queued in a
 *   {@linkcode PullQueue}, made on the first read; above `PULL_HIGH_WATER`
 *   bytes the socket is `pause()`d until `read()` drains the queue. Piping
 *   drops the queue, so an idle tunnel holds none.
 * - Push mode ({@linkcode BunConn.pipeTo} into another `BunConn`): each
 *   `data` chunk goes straight to the destination's `write()`; an unwritten
 *   remainder is kept on the destination and the source is `pause()`d until
 *   the destination's `drain`, then `resume()`d. The peer's FIN is forwarded
 *   with `shutdown()` once the remainder is flushed.
 *
 * Sockets must be opened with `allowHalfOpen: true`, otherwise Bun closes
 * the socket on the peer's FIN and the other direction of a relay is lost.
 *
 * One file because it is one class, `BunConn`, on Bun's hot path: its read
 * queue, backpressure and close handling share per-socket state that is
 * tuned for idle memory.
 *
 * @module
 */

import type { BunSocket, BunSocketHandler } from "./api.ts";
import { pullPipe } from "../pipe.ts";
import { PullQueue } from "../pull-queue.ts";
import { NetError, toNetError } from "../errors.ts";
import type { Conn, KeepAlive, NetAddr } from "../types.ts";

/** A pending promise's settle functions. */
interface Settle<T> {
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/** A closed-socket write error. */
function epipe(): NetError {
  return new NetError("EPIPE", "socket is closed");
}

/** Join two byte arrays (rare path: data arriving while already backpressured). */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** A Bun socket as a {@linkcode Conn}. Created by the `open` handler. */
export class BunConn implements Conn {
  #s: BunSocket<BunConn>;
  // Addresses are read from the socket on first use (each Bun getter is a
  // getsockname/getpeername syscall) and kept, since Bun clears them at close.
  #localAddr: NetAddr | null = null;
  #remoteAddr: NetAddr | null = null;
  // Receive side, pull mode: made by the first read(), dropped by pipeTo().
  #pull: PullQueue | null = null;
  #eof = false;
  #closed = false;
  #error: NetError | null = null;
  // Receive side, push mode (this conn is the pipe source).
  #dest: BunConn | null = null;
  #onBytes: ((n: number) => void) | null = null;
  #pipe: Settle<void> | null = null;
  // Send side (this conn is a destination).
  #pending: Uint8Array | null = null;
  #writers: Settle<void>[] | null = null;
  #pipedFrom: BunConn | null = null;
  #finPending = false;

  /**
   * Wrap `socket` and attach the wrapper as `socket.data`. The address that
   * matters stays readable after close, so it is read at once: the peer's
   * for an accepted connection (the client), ours for an `outbound` one (the
   * CONNECT reply's BND.ADDR); the other one is read on first use.
   */
  constructor(socket: BunSocket<BunConn>, outbound = false) {
    this.#s = socket;
    socket.data = this;
    if (outbound) this.#localAddr = { host: socket.localAddress, port: socket.localPort };
    else this.#remoteAddr = { host: socket.remoteAddress, port: socket.remotePort };
  }

  /**
   * Record the peer's address of an outbound connection from what was
   * dialled, instead of reading it back from the socket (two `getpeername`
   * calls in Bun, one per getter). Only for a dotted-quad IPv4 `host`, which
   * is exactly what the socket would report; other forms are read as usual.
   */
  dialled(host: string, port: number): void {
    this.#remoteAddr ??= { host, port };
  }

  /**
   * Our end. Outbound connections read it at open; accepted ones on first
   * access (while open) and keep it; an accepted connection closed before
   * any access gives `{ host: "", port: 0 }`.
   */
  get localAddr(): NetAddr {
    return this.#localAddr ??= this.#closed
      ? { host: "", port: 0 }
      : { host: this.#s.localAddress, port: this.#s.localPort };
  }

  /**
   * The peer's end. Accepted connections read it at open; outbound ones on
   * first access (while open), like {@linkcode localAddr}.
   */
  get remoteAddr(): NetAddr {
    return this.#remoteAddr ??= this.#closed
      ? { host: "", port: 0 }
      : { host: this.#s.remoteAddress, port: this.#s.remotePort };
  }

  /**
   * Socket handlers shared by all `BunConn`s. `open` must be supplied by the
   * caller (it decides what to do with a new connection) and must construct
   * a `BunConn` first.
   */
  static readonly handlers: Omit<BunSocketHandler<BunConn>, "open"> = {
    data(s, d) {
      s.data.#onData(d);
    },
    drain(s) {
      const c = s.data;
      if (c) c.#onDrain();
    },
    end(s) {
      s.data.#onEnd();
    },
    error(s, e) {
      const c = s.data;
      if (c && !c.#error) c.#error = toNetError(e);
    },
    close(s, e) {
      const c = s.data;
      if (c) c.#onClose(e);
    },
    connectError() {
      // Bun.connect's promise rejects; nothing to do here.
    },
  };

  #onData(d: Uint8Array): void {
    if (this.#dest) return this.#forward(d);
    (this.#pull ??= new PullQueue(this.#s)).push(d);
  }

  /** Push mode: hand `d` to the destination socket, keeping what it did not take. */
  #forward(d: Uint8Array): void {
    const dest = this.#dest!;
    if (dest.#pending) {
      dest.#pending = concat(dest.#pending, d);
      return;
    }
    const n = dest.#s.write(d);
    if (n === d.length) {
      this.#onBytes!(n);
      return;
    }
    if (n < 0) return this.#failPipe(dest.#error ?? epipe());
    if (n > 0) this.#onBytes!(n);
    dest.#pending = n > 0 ? d.subarray(n) : d;
    this.#s.pause();
  }

  #onDrain(): void {
    const p = this.#pending;
    if (p) {
      const n = this.#s.write(p);
      if (n < 0) return; // the close handler settles waiters
      const src = this.#pipedFrom;
      if (n > 0 && src && src.#dest === this) src.#onBytes!(n);
      if (n < p.length) {
        this.#pending = p.subarray(n);
        return;
      }
      this.#pending = null;
    }
    const w = this.#writers;
    if (w) {
      this.#writers = null;
      for (const x of w) x.resolve();
    }
    if (this.#finPending) {
      this.#finPending = false;
      this.#s.shutdown();
    }
    const src = this.#pipedFrom;
    if (src && src.#dest === this) {
      if (src.#eof) src.#finishPipe();
      else src.#s.resume();
    }
  }

  #onEnd(): void {
    this.#eof = true;
    if (this.#dest) {
      if (!this.#dest.#pending) this.#finishPipe();
      return;
    }
    this.#pull?.settle(null);
  }

  #onClose(e: Error | undefined): void {
    if (e && !this.#error) this.#error = toNetError(e);
    const wasEof = this.#eof;
    this.#closed = true;
    this.#eof = true;
    const err = this.#error;
    // As a source.
    if (this.#dest) {
      if (err) this.#failPipe(err);
      else if (!wasEof && !this.#dest.#pending) this.#finishPipe();
    }
    const q = this.#pull;
    if (q) {
      q.detach();
      q.settle(err);
    }
    // As a destination.
    this.#pending = null;
    const w = this.#writers;
    if (w) {
      this.#writers = null;
      for (const x of w) x.reject(err ?? epipe());
    }
    const src = this.#pipedFrom;
    if (src && src.#dest === this) src.#failPipe(err ?? epipe());
  }

  #finishPipe(): void {
    const dest = this.#dest!;
    const p = this.#pipe!;
    this.#dest = null;
    this.#pipe = null;
    this.#onBytes = null;
    dest.#pipedFrom = null;
    if (!dest.#closed) dest.#s.shutdown();
    p.resolve();
  }

  #failPipe(err: NetError): void {
    const dest = this.#dest!;
    const p = this.#pipe!;
    this.#dest = null;
    this.#pipe = null;
    this.#onBytes = null;
    dest.#pipedFrom = null;
    dest.#pending = null;
    p.reject(err);
  }

  /** See {@linkcode Conn.read}. */
  read(): Promise<Uint8Array | null> {
    const d = this.#pull?.shift(true);
    if (d) return Promise.resolve(d);
    if (this.#error) return Promise.reject(this.#error);
    if (this.#eof) return Promise.resolve(null);
    return (this.#pull ??= new PullQueue(this.#s)).next();
  }

  /** See {@linkcode Conn.write}: resolves when the kernel took every byte. */
  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#error ?? epipe());
    if (this.#pending) {
      this.#pending = concat(this.#pending, data);
    } else {
      const n = this.#s.write(data);
      if (n === data.length) return Promise.resolve();
      if (n < 0) return Promise.reject(this.#error ?? epipe());
      this.#pending = n > 0 ? data.subarray(n) : data;
    }
    return new Promise((resolve, reject) => {
      (this.#writers ??= []).push({ resolve, reject });
    });
  }

  /** See {@linkcode Conn.closeWrite}: FIN goes out after any unflushed bytes. */
  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#pending) this.#finPending = true;
    else this.#s.shutdown();
    return Promise.resolve();
  }

  /** See {@linkcode Conn.close}. */
  close(): void {
    if (this.#closed) return;
    this.#s.end(); // runs the close handler, which settles pending reads/writes/pipes
    if (!this.#closed) this.#onClose(undefined);
  }

  /** See {@linkcode Conn.setNoDelay}. */
  setNoDelay(on: boolean): void {
    if (!this.#closed) this.#s.setNoDelay(on);
  }

  /** See {@linkcode Conn.setKeepAlive}; `time` (seconds) becomes TCP_KEEPIDLE. */
  setKeepAlive(options: KeepAlive): void {
    if (this.#closed) return;
    this.#s.setKeepAlive(options.enabled, Math.round((options.time ?? 0) * 1000));
  }

  /** See {@linkcode Conn.pipeTo}. Native push path when `dest` is a `BunConn`. */
  pipeTo(dest: Conn, onBytes: (n: number) => void): Promise<void> {
    if (!(dest instanceof BunConn)) return pullPipe(this, dest, onBytes);
    return this.#pipeNative(dest, onBytes);
  }

  async #pipeNative(dest: BunConn, onBytes: (n: number) => void): Promise<void> {
    // Forward what earlier read() calls left queued, in order (the socket
    // stays paused meanwhile if the queue had paused it).
    for (let d = this.#pull?.shift(false); d; d = this.#pull?.shift(false)) {
      await dest.write(d);
      onBytes(d.length);
    }
    if (this.#error) throw this.#error;
    if (this.#eof) return dest.closeWrite();
    if (dest.#closed) throw dest.#error ?? epipe();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const paused = this.#pull?.paused ?? false;
    this.#pull = null;
    this.#dest = dest;
    this.#onBytes = onBytes;
    this.#pipe = { resolve, reject };
    dest.#pipedFrom = this;
    if (dest.#pending) this.#s.pause();
    else if (paused) this.#s.resume();
    return promise;
  }
}
