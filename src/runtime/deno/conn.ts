/**
 * {@linkcode Conn} over a native `Deno.TcpConn` / `Deno.TlsConn`.
 *
 * Deno's sockets are pull-based (`read(buf)` / `write(buf)` ops), so
 * {@linkcode DenoConn.pipeTo} is a read/write loop over one reused buffer per
 * direction, awaiting each write (backpressure) and calling `closeWrite()` on
 * the destination at EOF. A pending `read` pins its buffer, so an idle tunnel
 * costs its buffer size per direction; the loop therefore starts with a small
 * buffer ({@linkcode PIPE_BUFFER_SMALL}) and switches to a large one
 * ({@linkcode PIPE_BUFFER_LARGE}) only while reads fill it (bulk transfer),
 * returning to the small one when traffic turns sparse.
 *
 * @module
 */

import { pullPipe } from "../pipe.ts";
import { NodeConn } from "../node/conn.ts";
import { NetError, toNetError } from "../errors.ts";
import type { Conn, KeepAlive, NetAddr } from "../types.ts";
import { memoryTrimmer } from "./trim.ts";

/** Buffer size (bytes) of an idle or interactive pipe direction. */
export const PIPE_BUFFER_SMALL = 1024;
/** Buffer size (bytes) of a pipe direction in bulk transfer. */
export const PIPE_BUFFER_LARGE = 256 * 1024;
/** Buffer size (bytes) of one {@linkcode DenoConn.read} (handshakes). */
export const READ_BUFFER = 2 * 1024;

/** The native Deno connection types we wrap. */
type DenoNativeConn = Deno.TcpConn | Deno.TlsConn;

/** A native Deno connection as a {@linkcode Conn}. */
export class DenoConn implements Conn {
  /** Our end. */
  readonly localAddr: NetAddr;
  /** The peer's end. */
  readonly remoteAddr: NetAddr;
  #c: DenoNativeConn;
  #closed = false;
  #eof = false;

  /** Wrap an open native connection. */
  constructor(conn: DenoNativeConn) {
    this.#c = conn;
    const l = conn.localAddr as Deno.NetAddr;
    const r = conn.remoteAddr as Deno.NetAddr;
    this.localAddr = { host: l.hostname, port: l.port };
    this.remoteAddr = { host: r.hostname, port: r.port };
    memoryTrimmer.noteOpened();
  }

  /** One native read; `null` at EOF or after a local {@linkcode close}. */
  async #readInto(buf: Uint8Array): Promise<number | null> {
    if (this.#closed || this.#eof) return null;
    try {
      const n = await this.#c.read(buf);
      if (n === null) this.#eof = true;
      return n;
    } catch (e) {
      if (this.#closed) return null;
      // TLS peers that close TCP without close_notify: treat as FIN.
      if (e instanceof Deno.errors.UnexpectedEof) {
        this.#eof = true;
        return null;
      }
      throw toNetError(e);
    }
  }

  /** See {@linkcode Conn.read}. */
  async read(): Promise<Uint8Array | null> {
    const buf = new Uint8Array(READ_BUFFER);
    const n = await this.#readInto(buf);
    if (n === null) return null;
    return n < 1024 ? buf.slice(0, n) : buf.subarray(0, n);
  }

  /** See {@linkcode Conn.write}: resolves when the kernel took every byte. */
  async write(data: Uint8Array): Promise<void> {
    if (this.#closed) throw new NetError("EPIPE", "socket is closed");
    try {
      let off = 0;
      while (off < data.length) off += await this.#c.write(data.subarray(off));
    } catch (e) {
      if (this.#closed) throw new NetError("EPIPE", "socket is closed", { cause: e });
      throw toNetError(e);
    }
  }

  /** See {@linkcode Conn.closeWrite}. */
  async closeWrite(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#c.closeWrite();
    } catch {
      // Already shut or reset: FIN cannot be sent, nothing to report.
    }
  }

  /** See {@linkcode Conn.close}. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#c.close();
    } catch {
      // Already closed by the runtime.
    }
    memoryTrimmer.noteClosed();
  }

  /** See {@linkcode Conn.setNoDelay}; a no-op on TLS connections (Deno has no setter). */
  setNoDelay(on: boolean): void {
    if (this.#closed) return;
    (this.#c as Partial<Deno.TcpConn>).setNoDelay?.(on);
  }

  /**
   * See {@linkcode Conn.setKeepAlive}. Deno only toggles SO_KEEPALIVE; the
   * idle `time` cannot be set and is ignored (the kernel default applies).
   */
  setKeepAlive(options: KeepAlive): void {
    if (this.#closed) return;
    (this.#c as Partial<Deno.TcpConn>).setKeepAlive?.(options.enabled);
  }

  /**
   * See {@linkcode Conn.pipeTo}. The buffer is reused across reads only when
   * `dest` is a `DenoConn` or `NodeConn`, whose `write` resolves after the
   * bytes left for the kernel; any other `Conn` gets the portable loop.
   */
  async pipeTo(dest: Conn, onBytes: (n: number) => void): Promise<void> {
    if (!(dest instanceof DenoConn) && !(dest instanceof NodeConn)) return pullPipe(this, dest, onBytes);
    let small: Uint8Array | null = new Uint8Array(PIPE_BUFFER_SMALL);
    let large: Uint8Array | null = null;
    let buf = small;
    for (;;) {
      const n = await this.#readInto(buf);
      if (n === null) break;
      await dest.write(buf.subarray(0, n));
      onBytes(n);
      if (n === buf.length && buf === small) {
        buf = large ??= new Uint8Array(PIPE_BUFFER_LARGE);
      } else if (n < PIPE_BUFFER_SMALL && buf === large) {
        buf = small ??= new Uint8Array(PIPE_BUFFER_SMALL);
        large = null;
      }
    }
    small = large = null;
    await dest.closeWrite();
  }
}
