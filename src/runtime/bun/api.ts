/**
 * The narrow slice of Bun's API that `src/runtime/bun/` uses, declared
 * locally so the project does not need `bun-types` (which would clash with
 * Deno's globals under `deno check`). Shapes follow Bun 1.4 (`Bun.listen`,
 * `Bun.connect`, `Socket`, `TCPSocketListener`, `Bun.serve`).
 *
 * @module
 */

/** A Bun TCP/TLS socket (`Socket<T>` in bun-types); `data` is our per-socket state. */
export interface BunSocket<T> {
  /** User data attached to the socket (we store the owning `Conn`). */
  data: T;
  /** Local IP literal. */
  readonly localAddress: string;
  /** Local port. */
  readonly localPort: number;
  /** Peer IP literal. */
  readonly remoteAddress: string;
  /** Peer port. */
  readonly remotePort: number;
  /**
   * Write to the kernel without buffering: returns the number of bytes
   * accepted (possibly fewer than given, 0 when backpressured), or -1 once
   * the socket is closed. A `drain` event follows a short write.
   */
  write(data: Uint8Array): number;
  /** Send FIN; with no argument only the write half is shut. */
  shutdown(halfClose?: boolean): void;
  /** Send FIN and close the socket (the `close` handler runs synchronously). */
  end(): void;
  /** Stop reading from the kernel (no `data` events) until {@linkcode resume}. */
  pause(): void;
  /** Resume reading after {@linkcode pause}. */
  resume(): void;
  /** TCP_NODELAY. */
  setNoDelay(noDelay?: boolean): boolean;
  /** SO_KEEPALIVE; `initialDelay` in milliseconds (TCP_KEEPIDLE). */
  setKeepAlive(enable?: boolean, initialDelay?: number): boolean;
}

/** Socket event handlers, shared by every socket of a listener (or of all connects). */
export interface BunSocketHandler<T> {
  /** Connection established (for TLS: before the handshake completes). */
  open?(socket: BunSocket<T>): void;
  /** Received bytes; `data` is a fresh Buffer per call. */
  data?(socket: BunSocket<T>, data: Uint8Array): void;
  /** The socket can take more bytes after a short write. */
  drain?(socket: BunSocket<T>): void;
  /** The peer sent FIN (not called when our write half was already shut). */
  end?(socket: BunSocket<T>): void;
  /** The socket closed; `error` set when it closed because of one (e.g. ECONNRESET). */
  close?(socket: BunSocket<T>, error?: Error): void;
  /** An I/O error; `close` follows. */
  error?(socket: BunSocket<T>, error: Error): void;
  /** `Bun.connect` failed (the promise rejects too). */
  connectError?(socket: BunSocket<T>, error: Error): void;
  /**
   * TLS only: the handshake ended. `success` false means it failed (the
   * socket is then closed; `authorizationError` holds the reason, e.g. code
   * `EPROTO` for a plain-text client). On a server that does not request
   * client certificates, `authorizationError` may be set on success too
   * (nothing to verify) and is to be ignored.
   */
  handshake?(socket: BunSocket<T>, success: boolean, authorizationError: Error | null): void;
}

/** A listening socket returned by `Bun.listen`. */
export interface BunTcpListener {
  /** Bound host. */
  readonly hostname: string;
  /** Bound port (the real one when 0 was asked). */
  readonly port: number;
  /** Stop listening; `true` also closes accepted sockets. */
  stop(closeActiveConnections?: boolean): void;
}

/** Options of `Bun.listen`. */
export interface BunListenOptions<T> {
  hostname: string;
  port: number;
  /** Keep the write half open after the peer's FIN (default false: Bun closes). */
  allowHalfOpen?: boolean;
  /** Set SO_REUSEPORT (Linux). */
  reusePort?: boolean;
  tls?: { cert: string; key: string };
  socket: BunSocketHandler<T>;
}

/** Options of `Bun.connect`. */
export interface BunConnectOptions<T> {
  hostname: string;
  port: number;
  /** Source address to bind before connecting. */
  localAddress?: string;
  /** Keep the write half open after the peer's FIN (default false: Bun closes). */
  allowHalfOpen?: boolean;
  socket: BunSocketHandler<T>;
}

/** Options of `Bun.connect` adopting an existing (connected or connecting) descriptor. */
export interface BunFdConnectOptions<T> {
  /** The socket descriptor; Bun owns (and closes) it from now on. */
  fd: number;
  /** Keep the write half open after the peer's FIN (default false: Bun closes). */
  allowHalfOpen?: boolean;
  /** Initial `socket.data` (seen by the `open` handler). */
  data?: T;
  socket: BunSocketHandler<T>;
}

/** The `Bun` global, as far as proxy-server uses it. */
export interface BunGlobal {
  /** Bun's version, e.g. `"1.4.5"`. */
  readonly version: string;
  /** `[bun, script, ...args]`; in a compiled executable `[ "bun", "/$bunfs/root/<name>", ...args ]`. */
  readonly argv: string[];
  /** Absolute path of the entry script (`/$bunfs/...` in a compiled executable). */
  readonly main: string;
  /** Listen for TCP/TLS connections; throws (with `code`) when it cannot bind. */
  listen<T>(options: BunListenOptions<T>): BunTcpListener;
  /** Open a TCP connection; rejects with an error carrying `code`. */
  connect<T>(options: BunConnectOptions<T> | BunFdConnectOptions<T>): Promise<BunSocket<T>>;
  /** Serve HTTP; throws (with `code`) when it cannot bind. */
  serve(options: BunServeOptions): BunHttpServer;
}

/**
 * The `Bun` global, read from `globalThis`.
 *
 * @throws {Error} when not running on Bun.
 */
export function bunGlobal(): BunGlobal {
  const b = (globalThis as { Bun?: BunGlobal }).Bun;
  if (!b) throw new Error("not running on Bun");
  return b;
}

/** The server object `Bun.serve` returns (the part we use). */
export interface BunHttpServer {
  /** Bound port (the real one when 0 was asked). */
  readonly port: number;
  /** The client address of `request`, or `null` once its socket is gone. */
  requestIP(request: Request): { address: string; family: string; port: number } | null;
  /** Stop listening; `true` also closes open connections at once. */
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

/** Options of `Bun.serve`. */
export interface BunServeOptions {
  hostname: string;
  port: number;
  tls?: { cert: string; key: string };
  /** Answers each request; `server` gives the client address. */
  fetch(request: Request, server: BunHttpServer): Response | Promise<Response>;
  /** Answers when `fetch` throws. */
  error?(error: Error): Response | Promise<Response>;
}
