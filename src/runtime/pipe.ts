/**
 * The portable relay loop used when a {@linkcode Conn} pipes into a `Conn`
 * of another implementation (e.g. on Deno, a `node:net` connection opened
 * with `localAddress` and a native `Deno.Conn`).
 *
 * @module
 */

import type { Conn } from "./types.ts";

/**
 * Relay `src` to `dest` with {@linkcode Conn.read} and an awaited
 * {@linkcode Conn.write} per chunk, then `closeWrite()` `dest` once `src`
 * returns EOF. Backpressure comes from awaiting each write: `src` is not read
 * while a write is pending, and `src`'s own pull-mode high-water mark stops
 * it reading from the kernel.
 *
 * @param src connection to read from (pull mode).
 * @param dest connection to write to.
 * @param onBytes called with the byte count of each chunk after `dest` accepted it.
 * @returns resolves after `dest.closeWrite()`; rejects with the `NetError`
 *   of a failed read or write.
 */
export async function pullPipe(
  src: Conn,
  dest: Conn,
  onBytes: (n: number) => void,
): Promise<void> {
  for (;;) {
    const chunk = await src.read();
    if (chunk === null) break;
    await dest.write(chunk);
    onBytes(chunk.length);
  }
  await dest.closeWrite();
}
