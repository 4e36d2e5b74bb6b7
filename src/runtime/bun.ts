/**
 * The {@linkcode Runtime} for Bun: `Bun.listen` / `Bun.connect` on the data
 * path (see `bun-conn.ts`), `node:process` for signals, env and exit,
 * `node:fs/promises` for files.
 *
 * @module
 */

import process from "node:process";
import { readFile } from "node:fs/promises";
import { type BunSocketHandler, bunGlobal } from "./bun-api.ts";
import { connectFromSource } from "./bun-bound-connect.ts";
import { BunConn } from "./bun-conn.ts";
import { isIpLiteral, raceAbort, toNetError } from "./net-error.ts";
import {
  type Conn,
  type ConnectOptions,
  type Listener,
  type ListenOptions,
  NetError,
  type Runtime,
  type SignalName,
} from "./types.ts";

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

/** Bun's `listen`: one handler object per listener, shared by its sockets. */
function listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
  try {
    const server = bunGlobal().listen<BunConn>({
      hostname: options.hostname,
      port: options.port,
      allowHalfOpen: true,
      ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
      socket: {
        ...BunConn.handlers,
        open(s) {
          onConn(new BunConn(s));
        },
      },
    });
    const addr = { hostname: options.hostname, port: server.port };
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
    .then((s) => s.data as Conn, (e) => {
      throw toNetError(e);
    });
}

/**
 * Connect; with `localAddress`, through `connectFromSource` (source port
 * chosen at connect time) where it applies, else `Bun.connect`.
 */
function connect(options: ConnectOptions): Promise<Conn> {
  const { hostname, port, localAddress, signal } = options;
  if (localAddress === undefined) return raceAbort(bunConnect(hostname, port, undefined), signal, (late) => late.close());
  if (!isIpLiteral(localAddress)) {
    return Promise.reject(new NetError("EINVAL", `localAddress is not an IP literal: ${localAddress}`));
  }
  let cancel = () => {};
  const p = connectFromSource(hostname, port, localAddress, (c) => cancel = c)
    .then((conn) => conn ?? bunConnect(hostname, port, localAddress));
  return raceAbort(p, signal, (late) => late.close(), () => cancel());
}

/**
 * proxy-server's {@linkcode Runtime} on Bun.
 *
 * Limitations: none known for the data path; `setKeepAlive` sets
 * TCP_KEEPIDLE from `time` (seconds), rounded to milliseconds for Bun.
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
