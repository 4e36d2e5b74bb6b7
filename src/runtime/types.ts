/**
 * The runtime interface: the small set of operations proxy-server needs from
 * its host runtime (Deno or Bun). Everything else in `src/` talks to the
 * runtime through this interface only; `src/runtime/deno/` and
 * `src/runtime/bun/` implement it, and `src/runtime/index.ts` picks one once
 * at start. Modelled on Hono's `src/adapter/*` folders.
 *
 * One file because it is one interface: `Runtime` and the types of its
 * members, the whole contract each runtime folder implements, read together.
 *
 * @module
 */

import type { NetError } from "./errors.ts";

/** An IP endpoint. `host` is an IP literal without brackets. */
export interface NetAddr {
  /** IP literal, e.g. `"127.0.0.1"` or `"::1"` (no brackets). */
  host: string;
  /** TCP port, 0-65535. */
  port: number;
}

/** TLS material for a listener: PEM text, not file paths. */
export interface TlsMaterial {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key. */
  key: string;
}

/** Options for {@linkcode Runtime.listen}. */
export interface ListenOptions {
  /** IP literal to bind (no brackets), e.g. `"127.0.0.1"`, `"::"`. */
  host: string;
  /** TCP port; 0 picks a free port (read it back from {@linkcode Listener.addr}). */
  port: number;
  /**
   * Set `SO_REUSEPORT` (Linux): several processes may listen on the same
   * address and the kernel spreads connections over them. Bun:
   * `Bun.listen({ reusePort })`; Deno: `Deno.listen({ reusePort })`, which
   * Deno 2 still gates behind `--unstable-net` (set in `deno.json`).
   * Default false.
   */
  reusePort?: boolean;
  /**
   * Serve TLS with this material when set. A TLS connection reaches `onConn`
   * only once its handshake has completed; one whose handshake fails (a
   * plain-text client, a client that rejects the certificate) or does not
   * finish within {@linkcode tlsHandshakeTimeout} is closed and reported to
   * {@linkcode onTlsHandshakeError} instead, without touching any other
   * connection.
   */
  tls?: TlsMaterial;
  /** Seconds a TLS client has to complete its handshake (default 60). TLS only. */
  tlsHandshakeTimeout?: number;
  /**
   * Called for each TLS connection whose handshake failed or timed out
   * (`ETIMEDOUT`), with the error and the client's address; the connection
   * is already closed. Must not throw. TLS only.
   */
  onTlsHandshakeError?: (error: NetError, remoteAddr: NetAddr) => void;
  /**
   * Called with the errno name of each failed accept (e.g. `"ENOTCONN"` for
   * a connection reset before it was accepted, `"EMFILE"` when the process
   * is out of descriptors), so that the caller can count them. A failure
   * that concerns one connection closes it and accepting goes on at once;
   * one of the listener itself (`EMFILE`, `ENFILE`, ...) pauses accepting
   * with a bounded backoff (10 ms doubling to 1 s); at `EMFILE`/`ENFILE` a
   * spare descriptor held for the purpose is first released so that the
   * waiting connection can be accepted and closed at once (the client sees
   * a close, not a hang). Must not throw.
   * Deno only: Bun accepts inside its own event loop (uSockets) and reports
   * no accept error to JavaScript, so this is never called there; at
   * EMFILE Bun 1.4 retries `accept()` in a busy loop (its `loop.c` has a
   * "Todo: start timer here"; oven-sh/bun#32705, open) and leaves the
   * waiting clients unanswered. The server therefore keeps the process
   * below its limit itself ({@linkcode Runtime.descriptors}).
   */
  onAcceptError?: (code: string) => void;
}

/**
 * TLS for an outbound connection ({@linkcode ConnectOptions.tls}), made with
 * `node:tls` on both runtimes.
 */
export interface ClientTlsOptions {
  /** SNI server name and the name the certificate must match (default: the connect `host`). */
  serverName?: string;
  /** PEM CA certificates to trust instead of the system's roots. */
  caCerts?: string[];
  /**
   * Verify the server's certificate (default true). `false` accepts any
   * certificate: only for liveness checks, where the peer's identity is not
   * the question.
   */
  verify?: boolean;
}

/** Options for {@linkcode Runtime.connect}. */
export interface ConnectOptions {
  /** IP literal or DNS name of the destination. */
  host: string;
  /** Destination TCP port. */
  port: number;
  /**
   * Local IP address to bind before connecting (source-IP selection, as
   * KumoMTA's BIND-then-CONNECT needs). Port is always chosen by the kernel.
   */
  localAddress?: string;
  /** Abort the attempt (the promise then rejects with `ETIMEDOUT` if the reason is a timeout, else `ECANCELED`). */
  signal?: AbortSignal;
  /**
   * Speak TLS over the connection; the promise resolves after the
   * handshake, and rejects with a {@linkcode NetError} whose `message` says
   * why when it fails (e.g. a plain-text server, an untrusted certificate).
   * Combines with `localAddress`.
   */
  tls?: ClientTlsOptions;
}

/**
 * TCP keep-alive settings (RFC 1122 §4.2.3.6); see {@linkcode Conn.setKeepAlive}.
 * There is no interval (TCP_KEEPINTVL) or probe count (TCP_KEEPCNT): neither
 * runtime exposes them. Deno leaves the kernel's defaults
 * (`net.ipv4.tcp_keepalive_intvl`, `net.ipv4.tcp_keepalive_probes`); Bun's
 * `setKeepAlive` writes its own, 1 s and 10 probes, on every socket it turns
 * keep-alive on for (read back with getsockopt in
 * `test/runtime/connect.test.ts`).
 */
export interface KeepAlive {
  /** Turn SO_KEEPALIVE on or off. */
  enabled: boolean;
  /**
   * Idle time before the first probe, seconds (TCP_KEEPIDLE), where the
   * runtime can set it; absent: the socket keeps the kernel's
   * `net.ipv4.tcp_keepalive_time`.
   */
  time?: number;
}

/** A `tcp_keepalive` setting, named as in the config. */
export type KeepAliveSetting = "enabled" | "time" | "interval" | "retries";

/** Every {@linkcode KeepAliveSetting}, in the config's order. */
export const KEEPALIVE_SETTINGS: readonly KeepAliveSetting[] = Object.freeze([
  "enabled",
  "time",
  "interval",
  "retries",
]);

/**
 * Per `tcp_keepalive` setting, whether this runtime applies it: `true`, or
 * one short sentence saying what happens instead (for the start-up notice,
 * e.g. `"the keep-alive interval cannot be set on Deno (the kernel's
 * net.ipv4.tcp_keepalive_intvl applies)"`).
 */
export type KeepAliveSupportTable = Readonly<Record<KeepAliveSetting, true | string>>;

/**
 * What {@linkcode Conn.setKeepAlive} can apply on a runtime
 * ({@linkcode Runtime.keepAliveSupport}), by kind of socket. A setting
 * applied on only some sockets of a kind (Deno's `time`: set on the
 * `node:net` sockets of a bound source address, not on its own) is not
 * `true` there.
 *
 * @example
 * ```ts
 * const { tcp } = getRuntime().keepAliveSupport;
 * tcp.interval === true; // false on both runtimes: a sentence says why
 * ```
 */
export interface KeepAliveSupport {
  /** Plain TCP sockets: accepted by a listener without TLS, and every outbound socket. */
  tcp: KeepAliveSupportTable;
  /** The TLS connections a `use_tls` listener accepts (its outbound sockets are `tcp`). */
  tls: KeepAliveSupportTable;
}

/**
 * A connected TCP (or TLS) stream. Starts in pull mode ({@linkcode read});
 * {@linkcode pipeTo} switches the direction it reads from to push mode.
 */
export interface Conn {
  /** Our end of the connection. */
  readonly localAddr: NetAddr;
  /** The peer's end of the connection. */
  readonly remoteAddr: NetAddr;
  /**
   * The next chunk of received bytes, or `null` once the peer has sent FIN.
   * Used for handshakes. Rejects with {@linkcode NetError} on I/O error.
   * Resolves `null` after {@linkcode close} too (a pending call included).
   * Must not be called concurrently, nor after {@linkcode pipeTo}.
   */
  read(): Promise<Uint8Array | null>;
  /**
   * Send all of `data`. Resolves once the bytes are accepted by the kernel or
   * queued below a small high-water mark (so a caller that awaits every write
   * is backpressured). Rejects with {@linkcode NetError} on I/O error, and
   * with `EPIPE` after {@linkcode close}. Do not modify `data` until the
   * promise settles (Bun keeps an unwritten remainder by reference). Not to
   * be used on a connection another one is piping into.
   */
  write(data: Uint8Array): Promise<void>;
  /** Send FIN (half-close); reading stays possible. Never rejects. */
  closeWrite(): Promise<void>;
  /**
   * Close both directions at once and release the socket. Idempotent.
   * Pending {@linkcode read}s resolve `null`, pending writes reject `EPIPE`.
   */
  close(): void;
  /** Set TCP_NODELAY. */
  setNoDelay(on: boolean): void;
  /**
   * Set SO_KEEPALIVE and, where the runtime exposes it, the idle time. Bun
   * and `node:net` connections (Deno's connects with `localAddress` or
   * `tls`) set TCP_KEEPIDLE from `time`; native Deno TCP connections only
   * toggle SO_KEEPALIVE (the kernel's `tcp_keepalive_time` applies); native
   * Deno TLS connections (accepted on a TLS listener) cannot take keep-alive
   * at all, and this is a no-op there. See {@linkcode Runtime.keepAliveSupport}.
   */
  setKeepAlive(options: KeepAlive): void;
  /**
   * Relay everything this connection receives to `dest` until FIN, then
   * half-close `dest` (`closeWrite`) and resolve. Bytes already buffered by
   * earlier {@linkcode read} calls are forwarded first. Honours backpressure:
   * while `dest` cannot take more, this connection stops reading, so memory
   * per direction stays bounded whatever the speeds (at most one read chunk:
   * 256 KiB on Deno, the kernel read size, up to 512 KiB, on Bun; an idle
   * direction holds 1 KiB on Deno and no buffer on Bun).
   * `onBytes(n)` is called as each chunk of `n` bytes is handed to `dest`'s
   * kernel buffer, so the totals equal the bytes forwarded. Rejects with
   * {@linkcode NetError} on an I/O error on either side (the caller then
   * closes both). Closing both connections with {@linkcode close} settles a
   * pipe in progress (e.g. on an idle timeout).
   */
  pipeTo(dest: Conn, onBytes: (n: number) => void): Promise<void>;
}

/** A listening socket returned by {@linkcode Runtime.listen}. */
export interface Listener {
  /** Bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
  /** Stop accepting. Connections already accepted are not touched. */
  close(): Promise<void>;
}

/** Options for {@linkcode Runtime.serveHttp}. */
export interface ServeHttpOptions {
  /** IP literal to bind (no brackets), e.g. `"127.0.0.1"`, `"::"`. */
  host: string;
  /** TCP port; 0 picks a free port (read it back from {@linkcode HttpServer.addr}). */
  port: number;
  /** Serve HTTPS with this material when set (an HTTP listener with `use_tls`). */
  tls?: TlsMaterial;
}

/** What {@linkcode HttpHandler} learns about the connection besides the request. */
export interface HttpRequestInfo {
  /** The client's end of the TCP connection (an IPv4-mapped IPv6 literal is possible on a dual-stack socket). */
  remoteAddr: NetAddr;
}

/** A web-standard request handler (the shape of Hono's `app.fetch`). */
export type HttpHandler = (request: Request, info: HttpRequestInfo) => Response | Promise<Response>;

/** A running HTTP server returned by {@linkcode Runtime.serveHttp}. */
export interface HttpServer {
  /** Bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddr;
  /**
   * Stop accepting and close the connections; resolves once closed. Requests
   * in flight may finish (Deno) or be cut (Bun): call it after the last
   * answer that matters. Idempotent.
   */
  close(): Promise<void>;
}

/** Signals proxy-server reacts to (SIGUSR1: reopen the access log file). */
export type SignalName = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGUSR1";

/** The host runtime, as proxy-server sees it. */
export interface Runtime {
  /** `"deno"` or `"bun"`. */
  readonly name: "deno" | "bun";
  /** The runtime's own version, e.g. `"1.4.5"`. */
  readonly version: string;
  /**
   * Command-line arguments after the script name, or after the executable
   * name for a compiled single executable (`bun build --compile`,
   * `deno compile`).
   */
  readonly args: string[];
  /**
   * Listen for TCP (or TLS) connections; `onConn` is called for each accepted
   * connection. Rejects with {@linkcode NetError} (`EADDRINUSE`,
   * `EADDRNOTAVAIL`, ...) when the address cannot be bound.
   */
  listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener>;
  /**
   * Open a TCP connection, optionally from `localAddress`, optionally with
   * TLS (`tls`, through `node:tls` on both runtimes). Rejects
   * with {@linkcode NetError}; binding an address this host does not have
   * gives `EADDRNOTAVAIL` (Deno may report `EINVAL` for the same case).
   */
  connect(options: ConnectOptions): Promise<Conn>;
  /**
   * Serve HTTP/1.1 on the runtime's native server (`Deno.serve`, `Bun.serve`):
   * `handler` gets each request and the client's address. Rejects with
   * {@linkcode NetError} (`EADDRINUSE`, `EADDRNOTAVAIL`, ...) when the address
   * cannot be bound. A handler that throws answers 500.
   */
  serveHttp(options: ServeHttpOptions, handler: HttpHandler): Promise<HttpServer>;
  /**
   * Every IP address of `host`, in the system resolver's order, so that each
   * can be tried in turn (KumoMTA resolves `socks5_proxy_server` /
   * `ha_proxy_server` names at connection time): `[host]` itself for an IP
   * literal (brackets removed), else the answers of `node:dns` `lookup`
   * (which honours `/etc/hosts`), de-duplicated. `family` 4 or 6 keeps only
   * that family's answers; 0 (the default) keeps both. Rejects with
   * {@linkcode NetError} `ENOTFOUND` when there is no (matching) address.
   *
   * @example
   * ```ts
   * const [first] = await getRuntime().resolve("localhost", 4); // "127.0.0.1"
   * ```
   */
  resolve(host: string, family?: 0 | 4 | 6): Promise<string[]>;
  /**
   * Resolve when the local IP `address` can be bound on this host (the check
   * behind KumoMTA's `BIND <source-ip>:0`): a UDP socket is bound to
   * `<address>:0` and closed. Successes are cached for a few seconds, in a
   * cache of bounded size. Rejects with {@linkcode NetError}: `EINVAL` for a
   * string that is not an IP literal, `EADDRNOTAVAIL` (or the kernel's own
   * code) when the host lacks the address.
   *
   * @example
   * ```ts
   * await getRuntime().probeBind("127.0.0.1"); // resolves
   * await getRuntime().probeBind("192.0.2.1"); // rejects EADDRNOTAVAIL
   * ```
   */
  probeBind(address: string): Promise<void>;
  /**
   * Raise the process's soft open-file limit (RLIMIT_NOFILE) to its hard
   * limit, as KumoProxy does at start, and report both (`before`: the soft
   * limit found); or why this runtime cannot (`unsupported`: not Linux, no
   * FFI permission on Deno, no libc). Never rejects.
   *
   * @example
   * ```ts
   * const limit = await getRuntime().raiseFileLimit(); // { soft: 524288, hard: 524288, before: 1024 }
   * ```
   */
  raiseFileLimit(): Promise<FileLimit>;
  /**
   * The process's open file descriptors and its soft open-file limit now
   * (Linux: `/proc/self/fd` and `/proc/self/limits`, read with `node:fs` on
   * both runtimes), or `undefined` where they cannot be read. The server
   * uses it to close new connections at once before the process runs out of
   * descriptors (Bun's accept loop spins at EMFILE, see
   * {@linkcode ListenOptions.onAcceptError}). Never throws.
   *
   * @example
   * ```ts
   * getRuntime().descriptors(); // { open: 37, limit: 20000 }
   * ```
   */
  descriptors(): DescriptorUsage | undefined;
  /**
   * The path of a file embedded in this executable whose name matches
   * `pattern` (a `bun build --compile` binary carries extra entry points as
   * embedded files, under `/$bunfs/root/`); `undefined` when running from
   * source, when nothing matches, and on Deno (whose `deno compile`
   * includes files at their own paths).
   *
   * @example
   * ```ts
   * getRuntime().embeddedFilePath(/^glue(-[0-9a-z]+)?\.wasm$/); // "/$bunfs/root/glue-ab12.wasm" in a binary
   * ```
   */
  embeddedFilePath(pattern: RegExp): string | undefined;
  /**
   * Which `tcp_keepalive` settings {@linkcode Conn.setKeepAlive} applies on
   * this runtime, per kind of socket (see {@linkcode KeepAliveSupport}). The
   * server logs one start-up notice naming the settings a listener wrote
   * that are not `true` here, and none when every written one applies.
   * Deno: `enabled` on TCP but not on accepted TLS connections, `time`
   * nowhere on its own sockets; Bun: `enabled` and `time` everywhere;
   * `interval` and `retries` on neither.
   */
  readonly keepAliveSupport: KeepAliveSupport;
  /** Call `handler` on each delivery of `signal`; returns an unsubscribe function. */
  onSignal(signal: SignalName, handler: () => void): () => void;
  /**
   * Call `handler` with the reason of every promise rejection nobody
   * handles, instead of the runtime's default (Deno and Bun end the
   * process): one broken session must not stop the others. Returns an
   * unsubscribe function. Deno: the `unhandledrejection` event, with
   * `preventDefault()`; Bun: `process.on("unhandledRejection")`.
   */
  onUnhandledRejection(handler: (reason: unknown) => void): () => void;
  /** Read a UTF-8 file. Rejects with the runtime's error (has `code`, e.g. `ENOENT`). */
  readTextFile(path: string): Promise<string>;
  /** An environment variable, or `undefined`. */
  env(name: string): string | undefined;
  /** Exit the process with `code`. */
  exit(code: number): never;
}

/** What {@linkcode Runtime.descriptors} reports: counts of file descriptors. */
export interface DescriptorUsage {
  /** Descriptors the process has open now (sockets, files, pipes, the runtime's own). */
  open: number;
  /** The soft RLIMIT_NOFILE: an `open`, `socket` or `accept` fails with EMFILE past it. */
  limit: number;
}

/**
 * What {@linkcode Runtime.raiseFileLimit} did: the open-file limits after
 * it (`before` is the soft limit it found), or why it could not.
 */
export type FileLimit = { soft: number; hard: number; before: number } | { unsupported: string };
