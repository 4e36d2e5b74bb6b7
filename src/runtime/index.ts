/**
 * The runtime adapter's entry point: {@linkcode getRuntime} picks the Deno or
 * Bun implementation of {@linkcode Runtime} once, and the interface types are
 * re-exported so the rest of `src/` imports only this file.
 *
 * @example
 * ```ts
 * import { getRuntime } from "./runtime/index.ts";
 * const rt = getRuntime();
 * const l = await rt.listen({ host: "127.0.0.1", port: 0 }, (conn) => conn.close());
 * console.log(rt.name, l.addr.port);
 * await l.close();
 * ```
 *
 * @module
 */

import { bunRuntime } from "./bun/runtime.ts";
import { denoRuntime } from "./deno/runtime.ts";
import type { Runtime } from "./types.ts";

export * from "./types.ts";
export { NetError } from "./errors.ts";
export * from "./address.ts";
export { raceAbort, StepTimeoutError, timeoutSignal, withTimeout } from "./deadline.ts";
export { pullPipe } from "./pipe.ts";

let current: Runtime | undefined;

/**
 * The {@linkcode Runtime} of the host: Deno when `globalThis.Deno` exists,
 * else Bun when `globalThis.Bun` exists. Detected on the first call and
 * cached. Synchronous: both implementations are imported statically, and
 * neither touches `Deno.*` / `Bun.*` until one of its members is used.
 *
 * @throws {Error} when running on neither Deno nor Bun.
 */
export function getRuntime(): Runtime {
  if (current) return current;
  if ("Deno" in globalThis) current = denoRuntime;
  else if ("Bun" in globalThis) current = bunRuntime;
  else throw new Error("proxy-server needs Deno or Bun");
  return current;
}
