/**
 * Outbound TCP from a chosen source address on Bun (Linux), for KumoMTA's
 * BIND-then-CONNECT, without reserving the source port at bind time.
 *
 * `Bun.connect({ localAddress })` (like `node:net`) does
 * `bind(<address>:0)` and then `connect()`. A bind to port 0 must pick a
 * port that no socket on that address holds, TIME_WAIT ones included, so
 * at a few thousand tunnels per second the ephemeral range runs out within
 * seconds and connects fail with EADDRINUSE (or the bind scans the whole
 * range first). Here the socket is made with the libc calls directly
 * (`bun:ffi`): `IP_BIND_ADDRESS_NO_PORT` (Linux 4.2+) before `bind()`
 * tells the kernel to choose the port at `connect()` time, where it only
 * needs the 4-tuple to be unique and may reuse TIME_WAIT ports, exactly as
 * an unbound connect does. The connecting descriptor is then handed to
 * `Bun.connect({ fd })`; completion is the first writable (`drain`) event,
 * and its result is read with `getsockopt(SO_ERROR)`.
 *
 * Used only for IP-literal destinations of the source's family on Linux
 * with glibc's `libc.so.6`; everything else (names, other systems, FFI
 * unavailable) returns `null` so the caller uses `Bun.connect` as before.
 *
 * @module
 */
import { isIP } from "node:net";
import process from "node:process";
import ipaddr from "ipaddr.js";
import { bunGlobal, type BunSocketHandler } from "./api.ts";
import { BunConn } from "./conn.ts";
import { linuxErrnoName, NetError, toNetError } from "../errors.ts";
import type { Conn } from "../types.ts";

// Linux constants (x86_64 and aarch64 agree).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM_NONBLOCK_CLOEXEC = 1 | 0o4000 | 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const IPPROTO_IP = 0;
const IP_BIND_ADDRESS_NO_PORT = 24;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const EINPROGRESS = 115;

/** The libc calls we make, as `bun:ffi` exposes them (pointers as typed arrays). */
interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Int32Array, length: number): number;
  getsockopt(fd: number, level: number, name: number, value: Int32Array, length: Uint32Array): number;
  bind(fd: number, addr: Uint8Array, length: number): number;
  connect(fd: number, addr: Uint8Array, length: number): number;
  close(fd: number): number;
  errno(): number;
}

let libc: Libc | null | undefined;

/** Load libc through `bun:ffi` once; `null` when that is not possible here. */
async function loadLibc(): Promise<Libc | null> {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") return null;
  try {
    const spec = "bun:ffi"; // not a literal, so `deno check` does not try to resolve it
    // deno-lint-ignore no-explicit-any
    const ffi: any = await import(spec);
    const i32 = "i32", ptr = "ptr", u32 = "u32";
    const lib = ffi.dlopen("libc.so.6", {
      socket: { args: [i32, i32, i32], returns: i32 },
      setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
      getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
      bind: { args: [i32, ptr, u32], returns: i32 },
      connect: { args: [i32, ptr, u32], returns: i32 },
      close: { args: [i32], returns: i32 },
      __errno_location: { args: [], returns: ptr },
    });
    const s = lib.symbols;
    libc = {
      socket: s.socket,
      setsockopt: s.setsockopt,
      getsockopt: s.getsockopt,
      bind: s.bind,
      connect: s.connect,
      close: s.close,
      errno: () => ffi.read.i32(s.__errno_location(), 0),
    };
  } catch {
    libc = null;
  }
  return libc;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `struct sockaddr_in` / `sockaddr_in6` for an IP literal and port. */
function sockaddr(ip: string, port: number): Uint8Array {
  const m = IPV4.exec(ip);
  const bytes = m ? [+m[1], +m[2], +m[3], +m[4]] : ipaddr.parse(ip).toByteArray();
  const v6 = bytes.length === 16;
  const out = new Uint8Array(v6 ? 28 : 16);
  const view = new DataView(out.buffer);
  view.setUint16(0, v6 ? AF_INET6 : AF_INET, true);
  view.setUint16(2, port, false);
  out.set(bytes, v6 ? 8 : 4);
  return out;
}

/** A connect in progress: settled by the first `drain` (or `close`). */
interface Pending {
  fd: number;
  conn?: BunConn;
  resolve(conn: Conn): void;
  reject(error: NetError): void;
}

const connecting = new Map<BunConn, Pending>();

const ERROR_BUF = new Int32Array(1);
const ERROR_LEN = new Uint32Array(1);
const ONE = new Int32Array([1]);
/** Source `sockaddr`s (port 0) by address: a sender binds the same few addresses over and over. */
const sources = new Map<string, Uint8Array>();

/** Handlers for the adopted descriptors: `BunConn`'s own, plus connect completion. */
const HANDLERS: BunSocketHandler<BunConn> = {
  ...BunConn.handlers,
  open(s) {
    const pending = s.data as unknown as Pending;
    const conn = new BunConn(s, true);
    pending.conn = conn;
    connecting.set(conn, pending);
  },
  drain(s) {
    const conn = s.data;
    const pending = connecting.get(conn);
    if (!pending) return BunConn.handlers.drain!(s);
    connecting.delete(conn);
    ERROR_BUF[0] = 0;
    ERROR_LEN[0] = 4;
    libc!.getsockopt(pending.fd, SOL_SOCKET, SO_ERROR, ERROR_BUF, ERROR_LEN);
    if (ERROR_BUF[0] === 0) return pending.resolve(conn);
    const code = linuxErrnoName(ERROR_BUF[0]);
    conn.close();
    pending.reject(new NetError(code, `connect failed: ${code}`));
  },
  close(s, e) {
    const conn = s.data;
    if (!(conn instanceof BunConn)) return; // closed before open: Bun.connect rejects
    const pending = connecting.get(conn);
    if (pending) {
      connecting.delete(conn);
      pending.reject(e ? toNetError(e) : new NetError("ECONNRESET", "socket closed while connecting"));
    }
    BunConn.handlers.close!(s, e);
  },
};

/**
 * Connect to `hostname:port` from `localAddress` with the source port chosen
 * at connect time (see the module description).
 *
 * @returns the connection, or `null` when this path does not apply (the
 *   caller then uses `Bun.connect({ localAddress })`).
 * @throws {NetError} `EADDRNOTAVAIL` when the host lacks `localAddress`,
 *   `ECONNREFUSED`, `ENETUNREACH`, `EHOSTUNREACH`, `ETIMEDOUT`, ... from the
 *   kernel.
 */
export async function connectFromSource(
  hostname: string,
  port: number,
  localAddress: string,
  onCancel: (cancel: () => void) => void,
): Promise<Conn | null> {
  const family = isIP(localAddress);
  if (family === 0 || isIP(hostname) !== family) return null;
  const c = await loadLibc();
  if (!c) return null;
  const fd = c.socket(family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM_NONBLOCK_CLOEXEC, 0);
  if (fd < 0) throw new NetError(linuxErrnoName(c.errno()), "socket() failed");
  const fail = (what: string): never => {
    const code = linuxErrnoName(c.errno());
    c.close(fd);
    throw new NetError(code, `${what} failed: ${code}`);
  };
  c.setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, ONE, 4);
  c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, ONE, 4); // as Bun.connect does
  let src = sources.get(localAddress);
  if (!src) {
    src = sockaddr(localAddress, 0);
    if (sources.size < 1024) sources.set(localAddress, src);
  }
  if (c.bind(fd, src, src.length) !== 0) fail(`bind ${localAddress}`);
  const dst = sockaddr(hostname, port);
  if (c.connect(fd, dst, dst.length) !== 0 && c.errno() !== EINPROGRESS) fail(`connect ${hostname}:${port}`);
  const { promise, resolve, reject } = Promise.withResolvers<Conn>();
  const pending: Pending = { fd, resolve, reject };
  onCancel(() => pending.conn?.close());
  try {
    await bunGlobal().connect<BunConn>({
      fd,
      allowHalfOpen: true,
      data: pending as unknown as BunConn,
      socket: HANDLERS,
    });
  } catch (e) {
    if (!pending.conn) c.close(fd);
    throw toNetError(e);
  }
  return promise;
}
