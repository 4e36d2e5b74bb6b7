/**
 * Corrections to prom-client's default process metrics on Bun, whose
 * Node.js compatibility layer reports some of them wrongly:
 *
 * - `nodejs_heap_size_used_bytes` and `nodejs_heap_size_total_bytes` come
 *   from `process.memoryUsage()`, where Bun's `heapUsed` can exceed
 *   `heapTotal` (measured: 69 MB used of a 65 MB total). They are read
 *   instead from JavaScriptCore's own figures, `bun:jsc`'s `heapStats()`
 *   (`heapSize` used, `heapCapacity` total; `extraMemorySize` for
 *   `nodejs_external_memory_bytes`), which stay ordered.
 * - `process_heap_bytes` is Linux `VmData`, which on Bun includes
 *   JavaScriptCore's multi-gigabyte address-space reservation (6.4 GB for
 *   a 45 MB process): dropped on every runtime (`DROPPED_DEFAULT_METRICS`).
 * - `nodejs_heap_space_*_bytes{space}` name V8 heap spaces that
 *   JavaScriptCore does not have (always 0 but one bogus `old`),
 *   `nodejs_gc_duration_seconds` is never observed (Bun's perf_hooks emit
 *   no GC entries), and `nodejs_active_handles`/`_requests`/`_resources`
 *   have no series: dropped.
 *
 * `process_resident_memory_bytes` (VmRSS), CPU, file descriptors, start
 * time and event-loop lag are right on Bun and stay.
 *
 * @module
 */

import type * as prom from "prom-client";
import type { Registry } from "prom-client";
// Its own module, not prom-client's index (see registry.ts).
import GaugeModule from "prom-client/lib/gauge.js";

const Gauge = GaugeModule as unknown as typeof prom.Gauge;

/** The default metrics removed on Bun (see the module docs for why). */
export const BUN_DROPPED_METRICS = [
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
  "nodejs_gc_duration_seconds",
  "nodejs_active_handles",
  "nodejs_active_requests",
  "nodejs_active_resources",
] as const;

/** JavaScriptCore heap figures, in bytes, as `bun:jsc`'s `heapStats()` gives them. */
export interface JscHeapStats {
  /** Bytes of live objects on the JavaScript heap, as of the last collection. */
  heapSize: number;
  /** Bytes the heap holds (used and free); at least `heapSize`. */
  heapCapacity: number;
  /** Bytes held outside the heap on behalf of JavaScript objects (buffers, strings). */
  extraMemorySize: number;
}

// A variable specifier: Deno's type checker does not resolve `bun:` modules.
const JSC_MODULE = "bun:jsc";

/** `bun:jsc`'s `heapStats`, loaded once (on Bun only). */
let heapStats: (() => JscHeapStats) | undefined;

/** Load `bun:jsc`; resolves `false` where it does not exist (Deno). */
async function loadJsc(): Promise<boolean> {
  if (heapStats) return true;
  try {
    const jsc = await import(JSC_MODULE) as { heapStats(): JscHeapStats };
    heapStats = () => jsc.heapStats();
    return true;
  } catch {
    return false;
  }
}

/**
 * Replace the default metrics of `registry` that Bun reports wrongly (see
 * the module docs): the three heap gauges are re-registered with the same
 * names and help, read from `bun:jsc`'s `heapStats()`; the rest of
 * {@linkcode BUN_DROPPED_METRICS} is removed. Call after
 * `collectDefaultMetrics({ register: registry })`, on Bun only. Without
 * `bun:jsc` (not Bun) nothing changes.
 */
export async function correctBunProcessMetrics(registry: Registry): Promise<void> {
  if (!("Bun" in globalThis) || !await loadJsc() || heapStats === undefined) return;
  const stats = heapStats;
  for (const name of BUN_DROPPED_METRICS) registry.removeSingleMetric(name);
  const heap = [
    ["nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", (s: JscHeapStats) => s.heapCapacity],
    ["nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", (s: JscHeapStats) => s.heapSize],
    ["nodejs_external_memory_bytes", "Node.js external memory size in bytes.", (s: JscHeapStats) => s.extraMemorySize],
  ] as const;
  for (const [name, help, read] of heap) {
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const s = stats();
        // heapCapacity >= heapSize holds in JavaScriptCore; the max keeps it so if it ever lags.
        this.set(name === "nodejs_heap_size_total_bytes" ? Math.max(s.heapCapacity, s.heapSize) : read(s));
      },
    });
  }
}
