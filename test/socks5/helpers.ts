/**
 * Test helpers for `src/socks5/`: in-memory stand-ins for the parts of a
 * `Conn` the protocol code uses (`read`, `write`), so the tests depend on no
 * runtime implementation.
 *
 * @module
 */
import type { Conn } from "../../src/runtime/index.ts";

/** Bytes from numbers and ASCII strings: `bytes(5, 1, "ab")` is `[5, 1, 97, 98]`. */
export function bytes(
  ...parts: (number | string | Uint8Array | number[])[]
): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === "number") out.push(part);
    else if (typeof part === "string") {
      out.push(...new TextEncoder().encode(part));
    } else out.push(...part);
  }
  return Uint8Array.from(out);
}

/** Lower-case hex of `data`, space separated: readable assertion diffs. */
export function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * A `read()`-only connection serving `chunks` in order, then FIN (`null`).
 * An `Error` in the list makes that `read()` reject with it. `reads` counts
 * the calls.
 */
export class ChunkConn implements Pick<Conn, "read"> {
  reads = 0;
  #chunks: (Uint8Array | Error)[];
  constructor(chunks: (Uint8Array | Error)[]) {
    this.#chunks = [...chunks];
  }
  read(): Promise<Uint8Array | null> {
    this.reads++;
    const next = this.#chunks.shift();
    if (next === undefined) return Promise.resolve(null);
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next);
  }
}

/**
 * A scripted SOCKS5 proxy seen from the client: each `read()` serves the
 * next entry of `replies` (a list of chunks, `null` for FIN, an `Error` to
 * reject, or `"hang"` for a read that never settles); every `write()` is
 * recorded. `log` interleaves `"W <hex>"` and `"R"` in call order, so a test
 * can check that the client waits for each answer before it sends more.
 */
export class ScriptedProxy implements Pick<Conn, "read" | "write"> {
  log: string[] = [];
  written: Uint8Array[] = [];
  onRead: (() => void) | undefined;
  #replies: (Uint8Array | null | Error | "hang")[];
  constructor(replies: (Uint8Array | null | Error | "hang")[]) {
    this.#replies = [...replies];
  }
  read(): Promise<Uint8Array | null> {
    this.log.push("R");
    this.onRead?.();
    const next = this.#replies.shift();
    if (next === undefined || next === null) return Promise.resolve(null);
    if (next === "hang") return new Promise(() => {});
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next);
  }
  write(data: Uint8Array): Promise<void> {
    this.written.push(data.slice());
    this.log.push(`W ${hex(data)}`);
    return Promise.resolve();
  }
  /** Every byte written, joined. */
  get allWritten(): string {
    return this.written.map(hex).filter((h) => h !== "").join(" ");
  }
}
