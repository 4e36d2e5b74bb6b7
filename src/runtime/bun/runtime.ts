/**
 * The {@linkcode Runtime} for Bun: `Bun.listen` / `Bun.connect` on the data
 * path (see `conn.ts`), `node:process` for signals, env and exit,
 * `node:fs/promises` for files.
 *
 * @module
 */

import process from "node:process";
import { readFile } from "node:fs/promises";
import { bunGlobal, type BunSocketHandler } from "./api.ts";
import { connectFromSource } from "./bound-connect.ts";
import { BunConn } from "./conn.ts";
import { ipFamily, isIpLiteral } from "../address.ts";
import { raceAbort } from "../deadline.ts";
import { NetError, toNetError } from "../errors.ts";
import { nodeConnect } from "../node/conn.ts";
import { probeBind } from "../node/bind-probe.ts";
import { readDescriptors } from "../node/descriptors.ts";
import { resolveHost } from "../node/resolve.ts";
import { raiseFileLimit } from "./file-limit.ts";
import { handshakeTimeoutError, handshakeTimeoutMs, reportHandshakeError } from "../tls-handshake.ts";
import type { Conn, ConnectOptions, KeepAliveSupport, Listener, ListenOptions, Runtime, SignalName } from "../types.ts";
import { bunServeHttp } from "./serve-http.ts";

/** Handlers for every `Bun.connect` socket: wrap the socket at open. */
const CONNECT_HANDLERS: BunSocketHandler<BunConn> = {
  ...BunConn.handlers,
  open(s) {
    new BunConn(s, true);
  },
};

/**
 * Command-line arguments after the script name. `bun script.ts a b` gives
 * `Bun.argv = [bun, /abs/script.ts, a, b]`; a `bun build --compile`
 * executable gives `["bun", "/$bunfs/root/<name>", a, b]` (Bun 1.x), so
 * both drop two entries. Should a build ever omit the virtual script path
 * (argv[1] neither `Bun.main` nor under `/$bunfs/` or `B:/~BUN/`), only the
 * executable is dropped.
 */
function bunArgs(): string[] {
  const { argv, main } = bunGlobal();
  const second = argv[1] ?? "";
  const isScript = second === main || second.startsWith("/$bunfs/") ||
    second.startsWith("B:/~BUN/") || second.startsWith("B:\\~BUN\\");
  return argv.slice(isScript ? 2 : 1);
}

/**
 * Handlers of a TLS listener: a connection is handed to `onConn` only after
 * Bun's `handshake` event reports success; a failed handshake, one that does
 * not finish in time, or a close before it finishes is reported to
 * `options.onTlsHandshakeError` and the socket closed.
 */
function tlsHandlers(options: ListenOptions, onConn: (conn: Conn) => void): BunSocketHandler<BunConn> {
  const pending = new Map<BunConn, ReturnType<typeof setTimeout>>();
  const ms = handshakeTimeoutMs(options);
  const settle = (c: BunConn, error?: NetError) => {
    const timer = pending.get(c);
    if (timer === undefined) return;
    clearTimeout(timer);
    pending.delete(c);
    if (!error) return onConn(c);
    c.close();
    reportHandshakeError(options, error, c.remoteAddr);
  };
  return {
    ...BunConn.handlers,
    open(s) {
      const c = new BunConn(s);
      pending.set(c, setTimeout(() => settle(c, handshakeTimeoutError(ms)), ms));
    },
    handshake(s, success, authorizationError) {
      // authorizationError on success is about client certificates, which are not requested.
      settle(s.data, success ? undefined : toNetError(authorizationError ?? new Error("TLS handshake failed")));
    },
    close(s, e) {
      BunConn.handlers.close!(s, e);
      const c = s.data;
      if (c && pending.has(c)) settle(c, toNetError(e ?? new Error("connection closed during the TLS handshake")));
    },
  };
}

/** Bun's `listen`: one handler object per listener, shared by its sockets. */
function listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
  try {
    const server = bunGlobal().listen<BunConn>({
      hostname: options.host,
      port: options.port,
      allowHalfOpen: true,
      ...(options.reusePort === true ? { reusePort: true } : {}),
      ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
      socket: options.tls ? tlsHandlers(options, onConn) : {
        ...BunConn.handlers,
        open(s) {
          onConn(new BunConn(s));
        },
      },
    });
    const addr = { host: options.host, port: server.port };
    return Promise.resolve({
      addr,
      close(): Promise<void> {
        server.stop(false);
        return Promise.resolve();
      },
    });
  } catch (e) {
    return Promise.reject(toNetError(e));
  }
}

/** `Bun.connect`, with `localAddress` passed natively. */
function bunConnect(hostname: string, port: number, localAddress: string | undefined): Promise<Conn> {
  return bunGlobal()
    .connect<BunConn>({
      hostname,
      port,
      allowHalfOpen: true,
      ...(localAddress !== undefined ? { localAddress } : {}),
      socket: CONNECT_HANDLERS,
    })
    .then((s) => {
      const conn = s.data;
      if (ipFamily(hostname) === 4) conn.dialled(hostname, port);
      return conn as Conn;
    }, (e) => {
      throw toNetError(e);
    });
}

/**
 * Connect; TLS through `node:tls`; with `localAddress`, through
 * `connectFromSource` (source port chosen at connect time) where it applies,
 * else `Bun.connect`.
 */
function connect(options: ConnectOptions): Promise<Conn> {
  if (options.tls) return nodeConnect(options);
  const { host: hostname, port, localAddress, signal } = options;
  if (localAddress === undefined) {
    return raceAbort(bunConnect(hostname, port, undefined), signal, (late) => late.close());
  }
  if (!isIpLiteral(localAddress)) {
    return Promise.reject(new NetError("EINVAL", `localAddress is not an IP literal: ${localAddress}`));
  }
  let cancel = () => {};
  const p = connectFromSource(hostname, port, localAddress, (c) => cancel = c)
    .then((conn) => conn ?? bunConnect(hostname, port, localAddress));
  return raceAbort(p, signal, (late) => late.close(), () => cancel());
}

/** What Bun's connections can apply of `tcp_keepalive` (see {@linkcode Runtime.keepAliveSupport}). */
const BUN_KEEPALIVE: KeepAliveSupport = (() => {
  const table = Object.freeze(
    {
      enabled: true,
      time: true,
      interval: "the keep-alive interval cannot be set on Bun: Bun sets TCP_KEEPINTVL to 1 s on every " +
        "socket it turns keep-alive on for (net.ipv4.tcp_keepalive_intvl does not apply)",
      retries: "the keep-alive retries cannot be set on Bun: Bun sets TCP_KEEPCNT to 10 on every " +
        "socket it turns keep-alive on for (net.ipv4.tcp_keepalive_probes does not apply)",
    } as const,
  );
  return Object.freeze({ tcp: table, tls: table });
})();

/**
 * proxy-server's {@linkcode Runtime} on Bun.
 *
 * Limitations: none known for the data path; `setKeepAlive` sets
 * TCP_KEEPIDLE from `time` (seconds), rounded to milliseconds for Bun, on
 * TCP and TLS sockets alike, but Bun exposes no TCP_KEEPINTVL or TCP_KEEPCNT
 * (see {@linkcode Runtime.keepAliveSupport}). Outbound TLS goes through
 * `node:tls`.
 */
export const bunRuntime: Runtime = {
  name: "bun",
  get version(): string {
    return bunGlobal().version;
  },
  get args(): string[] {
    return bunArgs();
  },
  listen,
  connect,
  serveHttp: bunServeHttp,
  resolve: resolveHost,
  probeBind,
  raiseFileLimit,
  descriptors: readDescriptors,
  embeddedFilePath(pattern: RegExp): string | undefined {
    const file = (bunGlobal() as unknown as { embeddedFiles?: ReadonlyArray<{ name?: string }> }).embeddedFiles
      ?.find((f) => pattern.test(f.name ?? ""));
    return file?.name === undefined ? undefined : `/$bunfs/root/${file.name}`;
  },
  keepAliveSupport: BUN_KEEPALIVE,
  onUnhandledRejection(handler: (reason: unknown) => void): () => void {
    const listener = (reason: unknown) => handler(reason);
    process.on("unhandledRejection", listener);
    return () => {
      process.off("unhandledRejection", listener);
    };
  },
  onSignal(signal: SignalName, handler: () => void): () => void {
    process.on(signal, handler);
    return () => {
      process.off(signal, handler);
    };
  },
  readTextFile(path: string): Promise<string> {
    return readFile(path, "utf8");
  },
  env(name: string): string | undefined {
    return process.env[name];
  },
  exit(code: number): never {
    process.exit(code);
  },
};
