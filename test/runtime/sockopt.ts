/**
 * Test helper: read back the TCP options of one of this process's own
 * sockets with getsockopt(2), on Deno (`Deno.dlopen`) and on Bun
 * (`bun:ffi`) alike. The socket is found by its ports: its inode from
 * `/proc/net/tcp{,6}`, then the descriptor in `/proc/self/fd` that links to
 * that inode. Linux only.
 *
 * @module
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The options {@linkcode socketOptions} reads. */
export interface TcpOptions {
  /** TCP_NODELAY: 1 when set. */
  noDelay: number;
  /** SO_KEEPALIVE: 1 when set. */
  keepAlive: number;
  /** TCP_KEEPIDLE, seconds. */
  keepIdle: number;
  /** TCP_KEEPINTVL, seconds. */
  keepInterval: number;
  /** TCP_KEEPCNT, probes. */
  keepCount: number;
}

const SOL_SOCKET = 1;
const SO_KEEPALIVE = 9;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const TCP_KEEPIDLE = 4;
const TCP_KEEPINTVL = 5;
const TCP_KEEPCNT = 6;

type GetSockOpt = (fd: number, level: number, name: number, value: Uint8Array, length: Uint8Array) => number;

let getsockopt: GetSockOpt | undefined;

/** libc's getsockopt through the host runtime's FFI, loaded once. */
async function loadGetSockOpt(): Promise<GetSockOpt> {
  if (getsockopt) return getsockopt;
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno) {
    const lib = deno.dlopen(
      "libc.so.6",
      {
        getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
      } as const,
    );
    getsockopt = (fd, level, name, value, length) => lib.symbols.getsockopt(fd, level, name, value, length);
  } else {
    const spec = "bun:ffi"; // not a literal, so `deno check` does not try to resolve it
    // deno-lint-ignore no-explicit-any
    const ffi: any = await import(spec);
    const lib = ffi.dlopen("libc.so.6", { getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" } });
    getsockopt = (fd, level, name, value, length) => lib.symbols.getsockopt(fd, level, name, value, length);
  }
  return getsockopt!;
}

/** The inode of the TCP socket with these local and peer ports, from /proc/net/tcp and tcp6. */
function inodeOf(localPort: number, peerPort: number): string {
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (addr: string) => parseInt(addr.slice(addr.lastIndexOf(":") + 1), 16);
      if (port(f[1]) === localPort && port(f[2]) === peerPort) return f[9];
    }
  }
  throw new Error(`no TCP socket ${localPort} -> ${peerPort}`);
}

/** This process's descriptor of the socket with inode `inode`. */
function fdOf(inode: string): number {
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === `socket:[${inode}]`) return Number(name);
    } catch {
      // The descriptor closed while we looked.
    }
  }
  throw new Error(`socket inode ${inode} is not open in this process`);
}

/**
 * A reader of TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and
 * TCP_KEEPCNT for this process's socket whose local port is `localPort` and
 * peer port `peerPort` (found once; each call of the reader is five
 * getsockopt calls).
 */
export async function socketOptions(localPort: number, peerPort: number): Promise<() => TcpOptions> {
  const get = await loadGetSockOpt();
  const fd = fdOf(inodeOf(localPort, peerPort));
  const read = (level: number, name: number): number => {
    const value = new Uint8Array(4);
    const length = new Uint8Array(new Uint32Array([4]).buffer);
    if (get(fd, level, name, value, length) !== 0) throw new Error(`getsockopt(${fd}, ${level}, ${name}) failed`);
    return new DataView(value.buffer).getInt32(0, true);
  };
  return () => ({
    noDelay: read(IPPROTO_TCP, TCP_NODELAY) === 0 ? 0 : 1,
    keepAlive: read(SOL_SOCKET, SO_KEEPALIVE) === 0 ? 0 : 1,
    keepIdle: read(IPPROTO_TCP, TCP_KEEPIDLE),
    keepInterval: read(IPPROTO_TCP, TCP_KEEPINTVL),
    keepCount: read(IPPROTO_TCP, TCP_KEEPCNT),
  });
}
