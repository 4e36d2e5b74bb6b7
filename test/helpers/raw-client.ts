/**
 * Test helper: a byte-level TCP client (node:net) to speak SOCKS5 by hand,
 * independent of the code under test.
 */
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";

/** A connected raw client. */
export interface RawClient {
  socket: Socket;
  send(bytes: Uint8Array | number[]): void;
  /** Resolve with exactly `n` bytes (reject on close first or after `timeoutMs`). */
  read(n: number, timeoutMs?: number): Promise<Uint8Array>;
  /** Resolve with the bytes received before the server closed (reject after `timeoutMs`). */
  readUntilClose(timeoutMs?: number): Promise<Uint8Array>;
  close(): void;
}

/**
 * Connect to `port` on `host` (default 127.0.0.1); with `tls`, connect with
 * node:tls and resolve once the handshake is done (`socket` is then the
 * `TLSSocket`).
 */
export function rawConnect(
  port: number,
  host = "127.0.0.1",
  localAddress?: string,
  tls?: ConnectionOptions,
): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const options = { port, host, localAddress, allowHalfOpen: true };
    const socket: Socket | TLSSocket = tls ? tlsConnect({ ...options, ...tls }) : connect(options);
    let buf = new Uint8Array(0);
    let closed = false;
    const waiters = new Set<() => void>();
    socket.on("data", (d: Uint8Array) => {
      const next = new Uint8Array(buf.length + d.length);
      next.set(buf);
      next.set(d, buf.length);
      buf = next;
      waiters.forEach((w) => w());
    });
    const onEnd = () => {
      closed = true;
      waiters.forEach((w) => w());
    };
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onEnd);
    const wait = <T>(ready: () => T | undefined, timeoutMs: number, what: string) =>
      new Promise<T>((res, rej) => {
        const check = () => {
          const v = ready();
          if (v !== undefined) {
            done();
            res(v);
          } else if (closed) {
            done();
            rej(new Error(`connection closed before ${what} (got ${buf.length} bytes)`));
          }
        };
        const timer = setTimeout(() => {
          done();
          rej(new Error(`timed out waiting for ${what} (got ${buf.length} bytes)`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    socket.once(tls ? "secureConnect" : "connect", () => {
      resolve({
        socket,
        send: (bytes) => socket.write(Uint8Array.from(bytes)),
        read: (n, timeoutMs = 10_000) =>
          wait(
            () => {
              if (buf.length < n) return undefined;
              const out = buf.slice(0, n);
              buf = buf.slice(n);
              return out;
            },
            timeoutMs,
            `${n} bytes`,
          ),
        readUntilClose: (timeoutMs = 10_000) =>
          new Promise((res, rej) => {
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`timed out waiting for close (got ${buf.length} bytes)`));
            }, timeoutMs);
            const check = () => {
              if (closed) {
                clearTimeout(timer);
                waiters.delete(check);
                res(buf);
              }
            };
            waiters.add(check);
            check();
          }),
        close: () => socket.destroy(),
      });
    });
    socket.once("error", reject);
  });
}

/** RFC 1928 request bytes for `cmd` to an IPv4 literal. */
export function ipv4Request(cmd: number, ip: string, port: number): number[] {
  return [5, cmd, 0, 1, ...ip.split(".").map(Number), port >> 8, port & 0xff];
}
