/**
 * CPU profiles for docs/performance.md: record one from a process started
 * with `--inspect` (Deno has no `--cpu-prof`; Bun has, see below), and print
 * the top self-time costs of any `.cpuprofile` (V8's or Bun's).
 *
 * Usage (run with bun or deno, both have a global WebSocket):
 *   bun scripts/bench/profile.ts record PORT SECONDS OUT.cpuprofile
 *       attach to the inspector on 127.0.0.1:PORT (`deno run --inspect=127.0.0.1:PORT ...`),
 *       run V8's sampling profiler (100 µs interval) for SECONDS and write the profile
 *   bun scripts/bench/profile.ts top FILE.cpuprofile [N] [--by-file]
 *       the N (default 25) functions with the most self samples, as shares of the non-idle
 *       samples (idle, program and GC listed apart); --by-file sums them per source file
 *
 * Bun records the same format itself: `bun --cpu-prof --cpu-prof-dir=DIR src/cli/main.ts ...`
 * writes DIR/*.cpuprofile when the process exits (SIGINT; keep the run under load short).
 * Shares are taken from sample counts, not from the time deltas, because a
 * sampler's first delta spans the idle time before the load.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";

/** One node of a `.cpuprofile` call tree (Chrome DevTools Protocol `Profiler.ProfileNode`). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A `.cpuprofile` (CDP `Profiler.Profile`): nodes and one node id per sample. */
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Attach to the inspector on `port`, profile for `seconds`, write the profile to `out`. */
async function record(port: number, seconds: number, out: string): Promise<void> {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map<number, (r: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  };
  const call = (method: string, params: unknown = {}) =>
    new Promise<unknown>((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const { profile } = await call("Profiler.stop") as { profile: Profile };
  writeFileSync(out, JSON.stringify(profile));
  ws.close();
  console.log(`${out}: ${profile.samples.length} samples`);
}

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/** Print the top `n` self-sample functions (or files) of the profile in `file`. */
function top(file: string, n: number, byFile: boolean): void {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const counts = new Map<string, number>();
  const special = new Map<string, number>();
  let busy = 0;
  for (const s of p.samples) {
    const f = byId.get(s)!.callFrame;
    if (SPECIAL.has(f.functionName)) {
      special.set(f.functionName, (special.get(f.functionName) ?? 0) + 1);
      if (f.functionName === "(idle)" || f.functionName === "(root)") continue;
    }
    busy++;
    const where = f.url.replace(/^file:\/\//, "").replace(/^.*\/(src|node_modules)\//, "$1/") || "[native]";
    const key = byFile
      ? where
      : `${f.functionName || "(anonymous)"}  ${where}${f.lineNumber >= 0 ? `:${f.lineNumber + 1}` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  console.log(`${p.samples.length} samples, ${busy} not idle; ${[...special].map(([k, v]) => `${k} ${v}`).join(", ")}`);
  for (const [key, c] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${(100 * c / busy).toFixed(1).padStart(5)}%  ${key}`);
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "record") await record(Number(rest[0]), Number(rest[1]), rest[2]);
else if (mode === "top") top(rest[0], Number(rest.find((x) => /^\d+$/.test(x)) ?? 25), rest.includes("--by-file"));
else {
  console.error("usage: profile.ts record PORT SECONDS OUT | top FILE [N] [--by-file]");
  process.exit(2);
}
