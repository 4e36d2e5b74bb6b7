/**
 * How many file descriptors the process has open and may open, read from
 * Linux's `/proc/self/fd` and `/proc/self/limits` with `node:fs` (the same
 * on Deno and Bun): the input of the server's descriptor budget, which
 * refuses new connections before the process runs out (see
 * {@linkcode Runtime.descriptors}).
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import type { DescriptorUsage } from "../types.ts";

/**
 * The soft `Max open files` limit of `/proc/self/limits` (the process's
 * RLIMIT_NOFILE now, after any raise); `undefined` when unreadable or
 * `unlimited`.
 */
export function softFileLimit(text: string): number | undefined {
  const m = /^Max open files\s+(\d+)\s/m.exec(text);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Open descriptors and the soft limit of this process, or `undefined` where
 * `/proc` is missing (not Linux) or unreadable. Costs one `readdir` of
 * `/proc/self/fd` (about 50 µs for 200 entries, a few ms for 20,000).
 */
export function readDescriptors(): DescriptorUsage | undefined {
  try {
    const limit = softFileLimit(readFileSync("/proc/self/limits", "utf8"));
    if (limit === undefined) return undefined;
    // The readdir itself holds one descriptor, which is closed again.
    return { open: readdirSync("/proc/self/fd").length - 1, limit };
  } catch {
    return undefined;
  }
}
