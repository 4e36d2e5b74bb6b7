/**
 * Raising the soft open-file limit (RLIMIT_NOFILE) to the hard limit on
 * Deno, through `getrlimit`/`setrlimit` in glibc's `libc.so.6` by
 * `Deno.dlopen`. That needs the FFI permission (`--allow-ffi`; the
 * `proxy-server` script and the built binary run with `--allow-all`);
 * without it the limit is reported as not raised.
 *
 * @module
 */
import type { FileLimit } from "../types.ts";

/** RLIMIT_NOFILE on Linux (x86_64 and aarch64 agree). */
const RLIMIT_NOFILE = 7;

/**
 * Raise the soft open-file limit to the hard limit; see
 * {@linkcode Runtime.raiseFileLimit}.
 */
export function raiseFileLimit(): Promise<FileLimit> {
  if (Deno.build.os !== "linux") {
    return Promise.resolve({ unsupported: `no setrlimit binding for ${Deno.build.os} on Deno` });
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return Promise.resolve({ unsupported: "Deno runs without --allow-ffi, which setrlimit needs" });
  }
  let lib;
  try {
    lib = Deno.dlopen(
      "libc.so.6",
      {
        getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
        setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
      } as const,
    );
  } catch (error) {
    return Promise.resolve({
      unsupported: `libc.so.6 cannot be opened: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  try {
    const limit = new BigUint64Array(2); // struct rlimit { rlim_cur; rlim_max; }
    if (lib.symbols.getrlimit(RLIMIT_NOFILE, limit) !== 0) {
      return Promise.resolve({ unsupported: "getrlimit(RLIMIT_NOFILE) failed" });
    }
    const before = Number(limit[0]);
    const hard = Number(limit[1]);
    if (limit[0] < limit[1]) {
      limit[0] = limit[1];
      if (lib.symbols.setrlimit(RLIMIT_NOFILE, limit) !== 0) {
        return Promise.resolve({
          unsupported: `setrlimit(RLIMIT_NOFILE) to the hard limit ${hard} failed (soft stays ${before})`,
        });
      }
      lib.symbols.getrlimit(RLIMIT_NOFILE, limit);
    }
    return Promise.resolve({ soft: Number(limit[0]), hard, before });
  } finally {
    lib.close();
  }
}
