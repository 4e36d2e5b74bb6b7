/**
 * The proxy under soak: `proxy-server` from source on a chosen runtime (not
 * the one running the script), with its descriptor limit raised to 20,000
 * by `prlimit` (which execs the runtime, so the child's pid is the
 * runtime's own and `/proc/PID` describes the proxy), and the readings the
 * soak scripts take of it.
 *
 * @module
 */
import { join } from "node:path";
import { ROOT, type RunningProxy, startProxy } from "../../test/helpers/proxy-process.ts";
import { rssBytes, scrapeMetric } from "../../test/hardening/fuzz-client.ts";

/** A runtime the proxy can run on. */
export type RuntimeName = "deno" | "bun";

/** Descriptor limit (soft and hard) of the spawned proxy: 9,000 tunnels are 18,000 descriptors. */
export const NOFILE = 20_000;

/** Options of {@linkcode startSoakProxy}. */
export interface SoakProxyOptions {
  /** Extra runtime flags before the script, e.g. `["--v8-flags=--max-semi-space-size=1"]`. */
  runtimeFlags?: string[];
  /** The listener `timeout`, default `"60s"`. */
  timeout?: string;
}

/** The argv that runs the CLI from source on `runtime` under `prlimit`. */
export function soakCommand(runtime: RuntimeName, flags: string[] = []): string[] {
  const main = join(ROOT, "src/cli/main.ts");
  const bin = join(ROOT, "node_modules", ".bin", runtime);
  const limit = ["prlimit", `--nofile=${NOFILE}:${NOFILE}`, "--"];
  if (runtime === "deno") {
    return [...limit, bin, "run", "--allow-all", "--quiet", ...flags, "--config", join(ROOT, "deno.json"), main];
  }
  return [...limit, bin, ...flags, main];
}

/** Start a proxy on `runtime` with one proxy listener and one HTTP listener on 127.0.0.1. */
export function startSoakProxy(
  runtime: RuntimeName,
  config: Record<string, unknown> = {},
  options: SoakProxyOptions = {},
): Promise<RunningProxy> {
  return startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", timeout: options.timeout ?? "60s" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    ...config,
  }, { command: soakCommand(runtime, options.runtimeFlags) });
}

/** One reading of the proxy's memory. */
export interface MemoryReading {
  /** Seconds since the reference point of the caller. */
  at: number;
  /** VmRSS, MiB. */
  rssMiB: number;
  /** V8 heap in use, MiB (`nodejs_heap_size_used_bytes`). */
  heapUsedMiB: number;
  /** V8 heap reserved, MiB (`nodejs_heap_size_total_bytes`). */
  heapTotalMiB: number;
  /** Memory outside the V8 heap that V8 knows of (ArrayBuffers), MiB (`nodejs_external_memory_bytes`). */
  externalMiB: number;
  /** `proxy_active_connections`. */
  active: number;
}

const MiB = 1024 * 1024;
const round = (n: number) => Math.round(n * 10) / 10;

/** Read the proxy's RSS from /proc and its heap figures from its /metrics. */
export async function readMemory(proxy: RunningProxy, at: number): Promise<MemoryReading> {
  const port = proxy.httpPorts[0];
  const [heapUsed, heapTotal, external, active] = await Promise.all([
    scrapeMetric(port, "nodejs_heap_size_used_bytes"),
    scrapeMetric(port, "nodejs_heap_size_total_bytes"),
    scrapeMetric(port, "nodejs_external_memory_bytes"),
    scrapeMetric(port, "proxy_active_connections"),
  ]);
  return {
    at: round(at),
    rssMiB: round(rssBytes(proxy.child.pid!) / MiB),
    heapUsedMiB: round(heapUsed / MiB),
    heapTotalMiB: round(heapTotal / MiB),
    externalMiB: round(external / MiB),
    active,
  };
}
