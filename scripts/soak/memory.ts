/**
 * Memory after tunnels close: open N tunnels (default 9,000) through a
 * proxy on each runtime to a local echo target (each carries one 32-byte
 * echo, so both relay directions were set up), close them all, wait, and
 * compare the proxy's RSS with where it started. Prints a timeline of RSS,
 * V8 heap used/total and external memory, then one summary line per
 * runtime; exits 1 when a runtime ends more than `--budget` MiB above its
 * start.
 *
 * Usage: bun scripts/soak/memory.ts [--runtime deno|bun|both] [--tunnels N]
 *        [--wait SECONDS] [--budget MIB] [--v8-flags FLAGS]
 *
 * The client and the echo target are the benchmark's C load generator
 * (`scripts/bench/loadgen.c`, built with gcc on first use).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { buildLoadgen, holdLoadgen } from "../bench/loadgen.ts";
import { freePort } from "../bench/proc.ts";
import { pollUntil } from "../../test/hardening/fuzz-client.ts";
import { type MemoryReading, readMemory, type RuntimeName, startSoakProxy } from "./proxy.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runtime: { type: "string", default: "both" },
    tunnels: { type: "string", default: "9000" },
    wait: { type: "string", default: "30" },
    budget: { type: "string", default: "20" },
    "v8-flags": { type: "string" },
  },
});
const tunnels = Number(values.tunnels);
const waitSeconds = Number(values.wait);
const budgetMiB = Number(values.budget);
const runtimes: RuntimeName[] = values.runtime === "both" ? ["deno", "bun"] : [values.runtime as RuntimeName];
const log = (text: string) => process.stderr.write(text + "\n");

/** What one runtime's run measured. */
interface MemoryRun {
  runtime: RuntimeName;
  opened: number;
  start: MemoryReading;
  peak: MemoryReading;
  end: MemoryReading;
  timeline: MemoryReading[];
}

const parse = (line: string) => JSON.parse(line) as { opened: number; failed: number; seconds: number };

async function measure(runtime: RuntimeName, echoPort: number): Promise<MemoryRun> {
  const flags = runtime === "deno" && values["v8-flags"] ? [`--v8-flags=${values["v8-flags"]}`] : [];
  if (runtime === "bun" && values["v8-flags"]) log("bun: --v8-flags ignored (JavaScriptCore)");
  const proxy = await startSoakProxy(runtime, {}, { runtimeFlags: flags });
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  const port = proxy.ports[0];
  try {
    // Warm-up, so the baseline includes compiled code and the first allocations.
    const warm = await holdLoadgen(["idle", port, echoPort, 200], 60_000, parse);
    await warm.release();
    await pollUntil(() => readMemory(proxy, since()), (m) => m.active === 0, 20_000);
    await new Promise((r) => setTimeout(r, 3000));
    const start = await readMemory(proxy, since());
    log(`${runtime}: start ${JSON.stringify(start)}`);
    const held = await holdLoadgen(["idle", port, echoPort, tunnels], 180_000, parse);
    const peak = await readMemory(proxy, since());
    log(`${runtime}: ${held.result.opened} tunnels open (${held.result.failed} failed) ${JSON.stringify(peak)}`);
    await held.release();
    const closedAt = performance.now();
    const drained = await pollUntil(() => readMemory(proxy, since()), (m) => m.active === 0, 60_000, 250);
    log(
      `${runtime}: all closed after ${((performance.now() - closedAt) / 1000).toFixed(1)} s ${JSON.stringify(drained)}`,
    );
    const timeline: MemoryReading[] = [drained];
    const stepMs = 5000;
    for (let i = 0; i < 1000 && performance.now() - closedAt < waitSeconds * 1000; i++) {
      await new Promise((r) => setTimeout(r, Math.min(stepMs, waitSeconds * 1000 - (performance.now() - closedAt))));
      const m = await readMemory(proxy, since());
      timeline.push(m);
      log(`${runtime}: +${((performance.now() - closedAt) / 1000).toFixed(0)} s after closing: ${JSON.stringify(m)}`);
    }
    return { runtime, opened: held.result.opened, start, peak, end: timeline[timeline.length - 1], timeline };
  } finally {
    await proxy.stop();
  }
}

buildLoadgen();
const echoPort = await freePort();
const target = await holdLoadgen(["target", echoPort, await freePort()], 20_000, (line) => line);
let failed = false;
try {
  const results: MemoryRun[] = [];
  for (const runtime of runtimes) results.push(await measure(runtime, echoPort));
  log("");
  log(
    `| runtime | tunnels | RSS start | RSS peak | RSS ${waitSeconds} s after | delta | heap used start / peak / end |`,
  );
  log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const r of results) {
    const delta = Math.round((r.end.rssMiB - r.start.rssMiB) * 10) / 10;
    if (delta > budgetMiB) failed = true;
    log(
      `| ${r.runtime} | ${r.opened} | ${r.start.rssMiB} MiB | ${r.peak.rssMiB} MiB | ${r.end.rssMiB} MiB | ` +
        `${
          delta > 0 ? "+" : ""
        }${delta} MiB | ${r.start.heapUsedMiB} / ${r.peak.heapUsedMiB} / ${r.end.heapUsedMiB} MiB |`,
    );
  }
  console.log(JSON.stringify(results.map(({ timeline: _, ...r }) => r)));
} finally {
  await target.release();
}
process.exit(failed ? 1 : 0);
