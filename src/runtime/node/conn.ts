/**
 * {@linkcode Conn} over a `node:net` socket. Used on Deno for outbound
 * connections that must bind a source address: `Deno.connect` has no
 * `localAddress` option, while `net.connect({ host, port, localAddress })`
 * binds before connecting (KumoMTA's BIND-then-CONNECT source selection).
 * Also used on both runtimes for outbound TLS (`tls.connect`, whose
 * `TLSSocket` is a `net.Socket`).
 *
 * The socket runs in pull mode: `data` chunks are queued in a
 * {@linkcode PullQueue} and the socket is `pause()`d above
 * `PULL_HIGH_WATER` bytes; `pipeTo` is the
 * portable {@linkcode pullPipe} loop. Writes resolve on the write callback,
 * i.e. once the bytes left for the kernel, so callers may reuse buffers.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { isIpLiteral } from "../address.ts";
import { raceAbort } from "../deadline.ts";
import { abortError, NetError, toNetError } from "../errors.ts";
import { pullPipe } from "../pipe.ts";
import { PullQueue } from "../pull-queue.ts";
import type { Conn, ConnectOptions, KeepAlive, NetAddr } from "../types.ts";

/** Strip an IPv4-mapped prefix node sometimes reports (`::ffff:1.2.3.4`). */
function unmap(host: string | undefined): string {
  if (!host) return "";
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}

/** A connected `node:net` socket as a {@linkcode Conn}. */
export class NodeConn implements Conn {
  /** Our end. */
  readonly localAddr: NetAddr;
  /** The peer's end. */
  readonly remoteAddr: NetAddr;
  #s: net.Socket;
  #pull: PullQueue;
  #eof = false;
  #closed = false;
  #error: NetError | null = null;

  /** Wrap a connected socket (created with `allowHalfOpen: true`). */
  constructor(socket: net.Socket) {
    this.#s = socket;
    this.#pull = new PullQueue(socket);
    this.localAddr = { host: unmap(socket.localAddress), port: socket.localPort ?? 0 };
    this.remoteAddr = { host: unmap(socket.remoteAddress), port: socket.remotePort ?? 0 };
    socket.on("data", (d: Uint8Array) => this.#pull.push(d));
    socket.on("end", () => this.#onEnd());
    socket.on("error", (e: Error) => {
      this.#error ??= toNetError(e);
    });
    socket.on("close", () => this.#onClose());
  }

  #onEnd(): void {
    this.#eof = true;
    this.#pull.settle(this.#error);
  }

  #onClose(): void {
    this.#eof = true;
    this.#closed = true;
    this.#pull.detach();
    this.#pull.settle(this.#error);
  }

  /** See {@linkcode Conn.read}. */
  read(): Promise<Uint8Array | null> {
    const d = this.#pull.shift(true);
    if (d) return Promise.resolve(d);
    if (this.#error) return Promise.reject(this.#error);
    if (this.#eof) return Promise.resolve(null);
    return this.#pull.next();
  }

  /** See {@linkcode Conn.write}: resolves on node's write callback. */
  write(data: Uint8Array): Promise<void> {
    if (this.#closed || this.#s.writableEnded) {
      return Promise.reject(this.#error ?? new NetError("EPIPE", "socket is closed"));
    }
    return new Promise((resolve, reject) => {
      this.#s.write(data, (err) => {
        if (err) reject(this.#error ?? toNetError(err));
        else resolve();
      });
    });
  }

  /** See {@linkcode Conn.closeWrite}. */
  closeWrite(): Promise<void> {
    if (!this.#closed && !this.#s.writableEnded) this.#s.end();
    return Promise.resolve();
  }

  /** See {@linkcode Conn.close}. */
  close(): void {
    if (this.#closed) return;
    this.#s.destroy();
    this.#onClose();
  }

  /** See {@linkcode Conn.setNoDelay}. */
  setNoDelay(on: boolean): void {
    this.#s.setNoDelay(on);
  }

  /** See {@linkcode Conn.setKeepAlive}; `time` (seconds) becomes TCP_KEEPIDLE. */
  setKeepAlive(options: KeepAlive): void {
    this.#s.setKeepAlive(options.enabled, Math.round((options.time ?? 0) * 1000));
  }

  /** See {@linkcode Conn.pipeTo}: the portable read/await-write loop. */
  pipeTo(dest: Conn, onBytes: (n: number) => void): Promise<void> {
    return pullPipe(this, dest, onBytes);
  }
}

/**
 * Connect with `node:net`, binding `options.localAddress` first when set;
 * with `options.tls`, connect with `node:tls` and resolve after the
 * handshake.
 *
 * @returns the connected {@linkcode NodeConn}.
 * @throws {NetError} `EINVAL` for a `localAddress` that is not an IP literal;
 *   `EADDRNOTAVAIL` (or `EINVAL`, as Deno's node layer reports it) when the
 *   host lacks that address; `ECONNREFUSED`, `ENOTFOUND`, ...; `ETIMEDOUT` /
 *   `ECANCELED` when `options.signal` aborts (the attempt is destroyed).
 */
export function nodeConnect(options: ConnectOptions): Promise<Conn> {
  const { host: hostname, port, localAddress, signal } = options;
  if (localAddress !== undefined && !isIpLiteral(localAddress)) {
    return Promise.reject(new NetError("EINVAL", `localAddress is not an IP literal: ${localAddress}`));
  }
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const common = {
    host: hostname,
    port,
    allowHalfOpen: true,
    ...(localAddress !== undefined ? { localAddress } : {}),
  };
  const t = options.tls;
  const socket: net.Socket = t
    ? tls.connect({
      ...common,
      // node checks the certificate against `servername` when set, else `host`.
      ...(t.serverName !== undefined || !isIpLiteral(hostname) ? { servername: t.serverName ?? hostname } : {}),
      rejectUnauthorized: t.verify ?? true,
      ...(t.caCerts ? { ca: t.caCerts } : {}),
    })
    : net.connect(common);
  const p = new Promise<Conn>((resolve, reject) => {
    const onError = (e: Error) => {
      socket.destroy();
      reject(toNetError(e));
    };
    socket.once("error", onError);
    socket.once(t ? "secureConnect" : "connect", () => {
      socket.off("error", onError);
      resolve(new NodeConn(socket));
    });
  });
  return raceAbort(p, signal, (late) => late.close(), () => socket.destroy());
}
