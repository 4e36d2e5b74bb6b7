/**
 * In-memory implementations of the runtime's `Conn` interface, for running
 * the real session code (`runSession`) without sockets:
 *
 * - {@linkcode ScriptedConn}: a client that delivers a fixed list of
 *   chunks, then ends the way it was told (FIN, a reset, a reset once the
 *   proxy has answered, or a stall until it is closed), and records every
 *   byte the proxy writes and every close;
 * - {@linkcode EchoConn}: an outbound peer that sends back what it
 *   receives and half-closes when its writer does (an echo target without
 *   a socket).
 *
 * Both follow the interface's contract (`src/runtime/types.ts`): `read`
 * resolves `null` at FIN and after `close` (a pending read included),
 * `write` rejects with `EPIPE` after `close`, `close` is idempotent,
 * `closeWrite` never rejects, `pipeTo` relays until FIN and then
 * half-closes its destination.
 *
 * @module
 */
import { type Conn, type KeepAlive, type NetAddr, NetError, pullPipe } from "../../src/runtime/index.ts";

/** How a {@linkcode ScriptedConn} ends once its chunks are delivered. */
export type ScriptedEnding =
  /** `read` resolves `null` (the client sent FIN). */
  | "fin"
  /** `read` rejects with `ECONNRESET` (the client reset the connection). */
  | "rst"
  /**
   * As soon as the proxy has written anything, the chunks not yet read are
   * dropped and reads and writes reject with `ECONNRESET`; FIN if the proxy
   * never writes.
   */
  | "rst-after-reply"
  /** `read` stays pending until the connection is closed (a client that sends no more). */
  | "stall";

const LOCAL: NetAddr = Object.freeze({ host: "127.0.0.1", port: 1080 });

/** Copy `data` (a caller may reuse its buffer once a write settled). */
function copy(data: Uint8Array): Uint8Array {
  return data.slice();
}

/**
 * A client connection that sends `chunks` (one `read` each, in order),
 * then ends as `ending` says; what the proxy writes is kept, in order, in
 * {@linkcode written}.
 *
 * @example
 * ```ts
 * const client = new ScriptedConn([Uint8Array.of(5, 1, 0)], "fin", { host: "127.0.0.1", port: 40000 });
 * const outcome = await runSession(client, ctx);
 * client.writtenBytes(); // Uint8Array [5, 0]
 * ```
 */
export class ScriptedConn implements Conn {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  /** Chunks the proxy wrote, in order (copies). */
  readonly written: Uint8Array[] = [];
  /** Calls of `close()` so far (the first one closes; the others are no-ops, as the contract says). */
  closeCalls = 0;
  /** Calls of `closeWrite()` so far. */
  closeWriteCalls = 0;
  /** Writes that were rejected (after `close` or a reset). */
  rejectedWrites = 0;
  /** The last `setKeepAlive` options, if it was called. */
  keepAlive: KeepAlive | undefined;
  /** Whether `pipeTo` was called (the session reached the relay). */
  piped = false;

  #chunks: Uint8Array[];
  #next = 0;
  #ending: ScriptedEnding;
  #closed = false;
  #reset = false;
  #pending: ((chunk: Uint8Array | null) => void) | undefined;
  #reading = false;

  /**
   * @param chunks what `read` returns, one chunk per call (empty chunks are skipped).
   * @param ending what follows the last chunk.
   * @param remoteAddr the client's address (make it unique to tell sessions apart).
   * @param localAddr the listener's end; default 127.0.0.1:1080.
   */
  constructor(chunks: readonly Uint8Array[], ending: ScriptedEnding, remoteAddr: NetAddr, localAddr = LOCAL) {
    this.#chunks = chunks.filter((c) => c.length > 0);
    this.#ending = ending;
    this.remoteAddr = remoteAddr;
    this.localAddr = localAddr;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Everything the proxy wrote, as one array. */
  writtenBytes(): Uint8Array {
    if (this.written.length === 1) return this.written[0];
    const total = this.written.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.written) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** See `Conn.read`. Concurrent calls throw (a session must not make them). */
  read(): Promise<Uint8Array | null> {
    if (this.#reading) return Promise.reject(new Error("ScriptedConn.read() called concurrently"));
    if (this.#closed) return Promise.resolve(null);
    if (this.#reset) return Promise.reject(new NetError("ECONNRESET", "connection reset by peer"));
    if (this.#next < this.#chunks.length) return Promise.resolve(this.#chunks[this.#next++]);
    switch (this.#ending) {
      case "fin":
      case "rst-after-reply":
        return Promise.resolve(null);
      case "rst":
        this.#reset = true;
        return Promise.reject(new NetError("ECONNRESET", "connection reset by peer"));
      case "stall":
        this.#reading = true;
        return new Promise((resolve) => {
          this.#pending = (chunk) => {
            this.#reading = false;
            this.#pending = undefined;
            resolve(chunk);
          };
        });
    }
  }

  /** See `Conn.write`: records a copy, or rejects `EPIPE` after `close` and `ECONNRESET` after a reset. */
  write(data: Uint8Array): Promise<void> {
    if (this.#closed) {
      this.rejectedWrites++;
      return Promise.reject(new NetError("EPIPE", "broken pipe"));
    }
    if (this.#reset) {
      this.rejectedWrites++;
      return Promise.reject(new NetError("ECONNRESET", "connection reset by peer"));
    }
    this.written.push(copy(data));
    if (this.#ending === "rst-after-reply") {
      this.#reset = true;
      this.#next = this.#chunks.length;
    }
    return Promise.resolve();
  }

  /** See `Conn.closeWrite`. */
  closeWrite(): Promise<void> {
    this.closeWriteCalls++;
    return Promise.resolve();
  }

  /** See `Conn.close`: idempotent; a pending read resolves `null`. */
  close(): void {
    this.closeCalls++;
    if (this.#closed) return;
    this.#closed = true;
    this.#pending?.(null);
  }

  /** Recorded only. */
  setNoDelay(_on: boolean): void {}

  /** Recorded in {@linkcode keepAlive}. */
  setKeepAlive(options: KeepAlive): void {
    this.keepAlive = options;
  }

  /** See `Conn.pipeTo`: the portable read/write loop. */
  pipeTo(dest: Conn, onBytes: (n: number) => void): Promise<void> {
    this.piped = true;
    return pullPipe(this, dest, onBytes);
  }
}

/**
 * An outbound connection to an echo target, in memory: what is written to
 * it comes back from `read`; after `closeWrite` (the proxy passing on the
 * client's FIN) `read` drains what is left, then resolves `null`.
 */
export class EchoConn implements Conn {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  /** Calls of `close()` so far. */
  closeCalls = 0;
  /** Bytes written to it (and echoed). */
  bytesIn = 0;

  #queue: Uint8Array[] = [];
  #eof = false;
  #closed = false;
  #waiting: ((chunk: Uint8Array | null) => void) | undefined;

  /**
   * @param remoteAddr the target's address (what a CONNECT reached).
   * @param localAddr the proxy's outbound end (sent back as BND.ADDR and BND.PORT).
   */
  constructor(remoteAddr: NetAddr, localAddr: NetAddr) {
    this.remoteAddr = remoteAddr;
    this.localAddr = localAddr;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** See `Conn.read`. */
  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.resolve(null);
    const head = this.#queue.shift();
    if (head !== undefined) return Promise.resolve(head);
    if (this.#eof) return Promise.resolve(null);
    if (this.#waiting !== undefined) return Promise.reject(new Error("EchoConn.read() called concurrently"));
    return new Promise((resolve) => {
      this.#waiting = (chunk) => {
        this.#waiting = undefined;
        resolve(chunk);
      };
    });
  }

  /** See `Conn.write`: the bytes come back from `read`. */
  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new NetError("EPIPE", "broken pipe"));
    if (this.#eof) return Promise.reject(new NetError("EPIPE", "write after closeWrite"));
    this.bytesIn += data.length;
    const chunk = copy(data);
    if (this.#waiting !== undefined) this.#waiting(chunk);
    else this.#queue.push(chunk);
    return Promise.resolve();
  }

  /** See `Conn.closeWrite`: the echo half-closes in turn once drained. */
  closeWrite(): Promise<void> {
    this.#eof = true;
    if (this.#queue.length === 0) this.#waiting?.(null);
    return Promise.resolve();
  }

  /** See `Conn.close`. */
  close(): void {
    this.closeCalls++;
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#waiting?.(null);
  }

  /** No-op. */
  setNoDelay(_on: boolean): void {}

  /** No-op. */
  setKeepAlive(_options: KeepAlive): void {}

  /** See `Conn.pipeTo`. */
  pipeTo(dest: Conn, onBytes: (n: number) => void): Promise<void> {
    return pullPipe(this, dest, onBytes);
  }
}
