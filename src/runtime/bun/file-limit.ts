/**
 * Raising the soft open-file limit (RLIMIT_NOFILE) to the hard limit on
 * Bun, through `getrlimit`/`setrlimit` in glibc's `libc.so.6` by `bun:ffi`.
 *
 * @module
 */
import process from "node:process";
import type { FileLimit } from "../types.ts";

/** RLIMIT_NOFILE on Linux (x86_64 and aarch64 agree). */
const RLIMIT_NOFILE = 7;

/**
 * Raise the soft open-file limit to the hard limit; see
 * {@linkcode Runtime.raiseFileLimit}.
 */
export async function raiseFileLimit(): Promise<FileLimit> {
  if (process.platform !== "linux") return { unsupported: `no setrlimit binding for ${process.platform} on Bun` };
  try {
    const spec = "bun:ffi"; // not a literal, so `deno check` does not try to resolve it
    // deno-lint-ignore no-explicit-any
    const ffi: any = await import(spec);
    const lib = ffi.dlopen("libc.so.6", {
      getrlimit: { args: ["i32", "ptr"], returns: "i32" },
      setrlimit: { args: ["i32", "ptr"], returns: "i32" },
    });
    try {
      const limit = new BigUint64Array(2); // struct rlimit { rlim_cur; rlim_max; }
      if (lib.symbols.getrlimit(RLIMIT_NOFILE, limit) !== 0) return { unsupported: "getrlimit(RLIMIT_NOFILE) failed" };
      const before = Number(limit[0]);
      const hard = Number(limit[1]);
      if (limit[0] < limit[1]) {
        limit[0] = limit[1];
        if (lib.symbols.setrlimit(RLIMIT_NOFILE, limit) !== 0) {
          return { unsupported: `setrlimit(RLIMIT_NOFILE) to the hard limit ${hard} failed (soft stays ${before})` };
        }
        lib.symbols.getrlimit(RLIMIT_NOFILE, limit);
      }
      return { soft: Number(limit[0]), hard, before };
    } finally {
      lib.close();
    }
  } catch (error) {
    return {
      unsupported: `libc is not reachable through bun:ffi: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
