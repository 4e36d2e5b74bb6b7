/**
 * Hooks on an outbound connection: a callback when it is closed (for the
 * active-connections gauge) and bytes an upstream proxy sent right after
 * its CONNECT reply, which must be delivered before anything read later.
 *
 * The hooks are installed on the connection object itself rather than on a
 * wrapper: the runtimes relay through a native fast path only when the
 * destination is their own connection class (`instanceof`), and a wrapper
 * would lose it.
 *
 * @module
 */
import type { Conn } from "../runtime/index.ts";

/**
 * Make `conn.close()` call `onClose` once (on the first close), and, when
 * `early` is non-empty, make the next `read()` return it, or `pipeTo()`
 * write it to the destination first.
 *
 * @param conn a connection from `Runtime.connect`
 * @param onClose called once, after the first `close()`
 * @param early bytes already received past the proxy handshake
 * @returns `conn` itself
 */
export function trackConn(conn: Conn, onClose: () => void, early: Uint8Array = new Uint8Array(0)): Conn {
  const close = conn.close.bind(conn);
  let closed = false;
  Object.defineProperty(conn, "close", {
    configurable: true,
    value: () => {
      close();
      if (closed) return;
      closed = true;
      onClose();
    },
  });
  if (early.length === 0) return conn;
  let pending: Uint8Array | undefined = early;
  const read = conn.read.bind(conn);
  const pipeTo = conn.pipeTo.bind(conn);
  Object.defineProperty(conn, "read", {
    configurable: true,
    value: () => {
      const first = pending;
      pending = undefined;
      return first === undefined ? read() : Promise.resolve(first);
    },
  });
  Object.defineProperty(conn, "pipeTo", {
    configurable: true,
    value: async (dest: Conn, onBytes: (n: number) => void) => {
      const first = pending;
      pending = undefined;
      if (first !== undefined) {
        await dest.write(first);
        onBytes(first.length);
      }
      return await pipeTo(dest, onBytes);
    },
  });
  return conn;
}
