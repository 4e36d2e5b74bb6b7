/**
 * The {@linkcode Runtime} for Deno: `Deno.listen` / `Deno.listenTls` /
 * `Deno.connect` on the data path (see `conn.ts`), `Deno.*` for
 * signals, files, env, exit and args.
 *
 * `Deno.connect` cannot bind a local address, so a connect with
 * `localAddress` falls back to `node:net` (`net.connect({ host, port,
 * localAddress })`), wrapped into the same `Conn` interface by `../node/conn.ts`;
 * outbound TLS uses `node:tls` the same way.
 *
 * @module
 */

import { acceptLoop, type AcceptReserve } from "./accept.ts";
import { DenoConn } from "./conn.ts";
import { nodeConnect } from "../node/conn.ts";
import { probeBind } from "../node/bind-probe.ts";
import { readDescriptors } from "../node/descriptors.ts";
import { resolveHost } from "../node/resolve.ts";
import { raiseFileLimit } from "./file-limit.ts";
import { raceAbort } from "../deadline.ts";
import { toNetError } from "../errors.ts";
import { handshakeTimeoutError, handshakeTimeoutMs, reportHandshakeError } from "../tls-handshake.ts";
import type { Conn, ConnectOptions, KeepAliveSupport, Listener, ListenOptions, Runtime, SignalName } from "../types.ts";
import { denoServeHttp } from "./serve-http.ts";

/**
 * Finish a TLS connection's handshake before handing it to `onConn`; a
 * failure or a time-out closes it and goes to `options.onTlsHandshakeError`.
 * Runs on its own, so one slow or failing client never holds up the accept loop.
 */
async function afterHandshake(c: Deno.TlsConn, options: ListenOptions, onConn: (conn: Conn) => void): Promise<void> {
  const ms = handshakeTimeoutMs(options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      c.close();
    } catch {
      // Already closed.
    }
  }, ms);
  try {
    await c.handshake();
  } catch (e) {
    try {
      c.close();
    } catch {
      // Closed by the timer, or by the failure.
    }
    const r = c.remoteAddr as Deno.NetAddr;
    reportHandshakeError(options, timedOut ? handshakeTimeoutError(ms) : toNetError(e), {
      host: r.hostname,
      port: r.port,
    });
    return;
  } finally {
    clearTimeout(timer);
  }
  if (!timedOut) onConn(new DenoConn(c));
}

/**
 * The process's spare descriptor for EMFILE (`/dev/null`, opened at the
 * first listen; see `accept.ts`), shared by every listener: only one accept
 * at a time can use the slot it frees, and a second listener finding it
 * released pauses instead.
 */
const reserve: AcceptReserve & { file: Deno.FsFile | undefined; tried: boolean } = {
  file: undefined,
  tried: false,
  release(): boolean {
    const file = this.file;
    if (file === undefined) return false;
    this.file = undefined;
    try {
      file.close();
    } catch {
      // Already closed.
    }
    return true;
  },
  restore(): void {
    if (this.file !== undefined) return;
    try {
      this.file = Deno.openSync("/dev/null", { read: true });
    } catch {
      // No free descriptor (or no read permission): the loop pauses instead.
    }
  },
};

/** Deno's `listen`/`listenTls` with a background accept loop. */
function listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
  let l: Deno.Listener<Deno.TcpConn | Deno.TlsConn>;
  try {
    const { host: hostname, port, tls } = options;
    const reuse = options.reusePort === true ? { reusePort: true } : {};
    l = tls
      ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key, ...reuse })
      : Deno.listen({ hostname, port, transport: "tcp", ...reuse });
  } catch (e) {
    return Promise.reject(toNetError(e));
  }
  if (!reserve.tried) {
    reserve.tried = true;
    reserve.restore();
  }
  let closed = false;
  const done = acceptLoop(
    () => l.accept(),
    (c) => {
      if (options.tls) void afterHandshake(c as Deno.TlsConn, options, onConn);
      else onConn(new DenoConn(c));
    },
    {
      isClosed: () => closed,
      onAcceptError: options.onAcceptError,
      reserve,
      refuse: (c) => {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      },
    },
  );
  const a = l.addr as Deno.NetAddr;
  return Promise.resolve({
    addr: { host: a.hostname, port: a.port },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        l.close();
      } catch {
        // Already closed.
      }
      await done;
    },
  });
}

/** `Deno.connect`, or `node:net`/`node:tls` when `localAddress` or `tls` is set (see module doc). */
function connect(options: ConnectOptions): Promise<Conn> {
  if (options.localAddress !== undefined || options.tls) return nodeConnect(options);
  const { host: hostname, port, signal } = options;
  // No signal for Deno.connect (as on Bun): on Deno 2.9 one that aborts
  // after the kernel has completed the connection, before the result
  // reaches JavaScript, rejects the connect and leaks the socket (open
  // descriptor, established connection; test/hardening/connect-abort.test.ts).
  // An attempt given up on goes on until it settles: a late connection is
  // closed at once, a failure ignored.
  const p = Deno.connect({ hostname, port, transport: "tcp" })
    .then((c) => new DenoConn(c) as Conn, (e) => {
      throw toNetError(e);
    });
  return raceAbort(p, signal, (late) => late.close());
}

/** What Deno's connections can apply of `tcp_keepalive` (see {@linkcode Runtime.keepAliveSupport}). */
const DENO_KEEPALIVE: KeepAliveSupport = (() => {
  const interval = "the keep-alive interval cannot be set on Deno (the kernel's net.ipv4.tcp_keepalive_intvl applies)";
  const retries = "the keep-alive retries cannot be set on Deno (the kernel's net.ipv4.tcp_keepalive_probes applies)";
  const tcp = {
    enabled: true,
    time: "the keep-alive time cannot be set on Deno's own sockets: accepted TCP connections and " +
      "outbound ones without a source address keep the kernel's net.ipv4.tcp_keepalive_time",
    interval,
    retries,
  } as const;
  const noTls = "keep-alive cannot be enabled at all on TLS connections accepted by a use_tls listener on Deno";
  return Object.freeze({
    tcp: Object.freeze(tcp),
    tls: Object.freeze({ enabled: noTls, time: noTls, interval, retries }),
  });
})();

/**
 * proxy-server's {@linkcode Runtime} on Deno.
 *
 * Limitations: `Conn.setKeepAlive` cannot set the idle time on native
 * connections (Deno only toggles SO_KEEPALIVE; the `node:net` ones, used for
 * `localAddress`, do set it); `setNoDelay`/`setKeepAlive` are no-ops on
 * accepted TLS connections (`Deno.TlsConn` has neither); interval and
 * retries cannot be set anywhere (see {@linkcode Runtime.keepAliveSupport});
 * connects with `localAddress` or `tls` go through `node:net`/`node:tls`.
 * A TLS client that never completes its handshake is reported after
 * `tlsHandshakeTimeout` and its `TlsConn` closed, but Deno keeps the TCP
 * socket until the handshake ends (it finishes the handshake before shutting
 * down, denoland/deno#14547): the client stays connected until it sends
 * something or leaves.
 */
export const denoRuntime: Runtime = {
  name: "deno",
  get version(): string {
    return Deno.version.deno;
  },
  get args(): string[] {
    return [...Deno.args];
  },
  listen,
  connect,
  serveHttp: denoServeHttp,
  resolve: resolveHost,
  probeBind,
  raiseFileLimit,
  descriptors: readDescriptors,
  embeddedFilePath: () => undefined,
  keepAliveSupport: DENO_KEEPALIVE,
  onUnhandledRejection(handler: (reason: unknown) => void): () => void {
    const listener = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      handler(event.reason);
    };
    globalThis.addEventListener("unhandledrejection", listener);
    return () => globalThis.removeEventListener("unhandledrejection", listener);
  },
  onSignal(signal: SignalName, handler: () => void): () => void {
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  },
  readTextFile(path: string): Promise<string> {
    return Deno.readTextFile(path);
  },
  env(name: string): string | undefined {
    return Deno.env.get(name);
  },
  exit(code: number): never {
    Deno.exit(code);
  },
};
