/**
 * `npm run bench`: proxy-server against the reference SOCKS5 servers
 * (microsocks, Dante) on loopback, with the same load from a C load
 * generator, and one markdown table of medians and ratios.
 *
 * Usage: bun scripts/bench/main.ts [--quick] [--runs N] [--only k1,k2]
 *   --quick (or BENCH_QUICK=1)  one run, 200 MB bulk, 3 s rate, 2,000 idle tunnels, and only
 *                               runs that bind before connecting wait for TIME_WAIT to clear
 *   --runs N                    runs per figure (default 3; the median is shown)
 *   --only KEYS                 servers to run: direct, microsocks, dante, bun-floor, bun, bun-acl,
 *                               bun-cluster, bun-cluster-limits (these two start a redis-server),
 *                               deno-floor, deno, binary
 *
 * Figures (see README "Benchmarks"): bulk MB/s through one tunnel; rate
 * tunnels/s, p50/p99 µs and errors of 8 clients looping connect -> greeting
 * -> CONNECT -> 32-byte echo -> close; the same with KumoMTA's BIND first
 * (references: their own source-address option); idle KiB per open tunnel
 * with 10,000 open; start ms to the first served client.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { bulk, type Figures, idle, type Plan, rate, start, type Target, throughput } from "./figures.ts";
import { buildLoadgen, holdLoadgen, ROOT } from "./loadgen.ts";
import { firstLine, freePort, stopAll, waitForQuietPorts } from "./proc.ts";
import { installReferences, type Server, servers, startBenchRedis } from "./servers.ts";
import { ceilingNotes, floorNotes, markdown, type Row, summarise } from "./table.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: "boolean", default: process.env.BENCH_QUICK === "1" },
    runs: { type: "string" },
    only: { type: "string" },
  },
});

const quick = values.quick!;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const plan: Plan = quick
  ? { bulkBytes: 200e6, clients: 8, rateSeconds: 3, idleTunnels: 2000, settleAll: false }
  : { bulkBytes: 2e9, clients: 8, rateSeconds: 10, idleTunnels: 10_000, settleAll: true };
const only = values.only?.split(",").map((s) => s.trim());
const wanted = (key: string) => !only || only.includes(key);

const log = (text: string) => process.stderr.write(text + "\n");

/** The direct row: the load generator against the target, no proxy (its ceiling). */
async function directRun(target: Target): Promise<Figures> {
  const bulkMBps = await bulk(0, target, plan);
  if (plan.settleAll) await waitForQuietPorts();
  const plain = await rate(0, target, plan, false);
  if (plan.settleAll) await waitForQuietPorts();
  return { bulkMBps, rate: plain, bound: await rate(0, target, plan, true) };
}

async function serverRun(server: Server, target: Target): Promise<Figures> {
  // The previous server's bound run can leave the loopback ports in
  // TIME_WAIT, and the start figure needs a port to connect from.
  if (plan.settleAll) await waitForQuietPorts();
  const startMs = await start(server, target);
  log(`  start ${startMs.toFixed(1)} ms`);
  const mem = await idle(server, target, plan);
  log(`  idle ${mem.idleKiB?.toFixed(2)} KiB/tunnel, ${mem.idleOpened}/${plan.idleTunnels} opened`);
  const t = await throughput(server, target, plan);
  log(`  bulk ${t.bulkMBps?.toFixed(0)} MB/s; rate ${JSON.stringify(t.rate)}; bound ${JSON.stringify(t.bound)}`);
  return { startMs, ...mem, ...t };
}

function header(list: Server[]): string {
  const cpu = os.cpus();
  const date = new Date().toISOString().slice(0, 10);
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  // Several rows run on the same runtime: name each version once.
  const versions = [...new Set(list.map((s) => s.version()))].join(", ");
  const nofile = firstLine("bash", ["-c", "ulimit -Hn"]) ?? "?";
  return [
    `Date: ${date}. Machine: ${cpu.length} cores (${cpu[0]?.model ?? "?"}), ${gib} GiB, Linux ${os.release()}, ` +
    `hard file limit ${nofile}.`,
    `Versions: ${versions}; gcc ${firstLine("gcc", ["-dumpversion"]) ?? "?"} (load generator).`,
    `Plan: ${runs} run(s) per figure (median shown); bulk ${
      plan.bulkBytes / 1e6
    } MB; rate ${plan.clients} clients × ${plan.rateSeconds} s; ` +
    `idle ${plan.idleTunnels} tunnels.`,
  ].join("\n");
}

/** Why a single-process server cannot open every idle tunnel under a low hard file limit. */
function idleNotes(rows: Row[]): string[] {
  const hard = Number(firstLine("bash", ["-c", "ulimit -Hn"]));
  const short = rows.filter((r) => r.idleOpened !== undefined && r.idleOpened < plan.idleTunnels);
  if (short.length === 0 || !Number.isFinite(hard) || hard >= 2 * plan.idleTunnels + 64) return [];
  return [
    `${short.map((r) => r.name).join(", ")}: fewer than ${plan.idleTunnels} idle tunnels opened because the hard ` +
    `file limit here is ${hard} and cannot be raised (no CAP_SYS_RESOURCE): a single process needs two descriptors ` +
    `per tunnel plus the dozen or so it holds itself, so about ${Math.floor((hard - 12) / 2)} tunnels fit; ` +
    `Dante spreads its tunnels over child processes.`,
  ];
}

async function main(): Promise<void> {
  installReferences();
  buildLoadgen();
  const list = servers().filter((s) => wanted(s.key));
  const target: Target = { echo: await freePort(), bulk: await freePort() };
  const held = await holdLoadgen(["target", target.echo, target.bulk], 10_000, (l) => {
    if (l.trim() !== "ready") throw new Error(`target: ${l}`);
  });
  const results = new Map<string, Figures[]>();
  const record = (name: string, f: Figures) => results.set(name, [...(results.get(name) ?? []), f]);
  try {
    if (list.some((s) => s.needsRedis)) await startBenchRedis();
    for (let round = 1; round <= runs; round++) {
      if (wanted("direct")) {
        log(`run ${round}/${runs}: direct (no proxy)`);
        record("direct (no proxy)", await directRun(target));
      }
      for (const s of list) {
        log(`run ${round}/${runs}: ${s.name}`);
        record(s.name, await serverRun(s, target));
      }
    }
  } finally {
    await held.release();
    await stopAll();
  }
  const rows: Row[] = [...results].map(([name, figs]) => summarise(name, figs));
  const table = markdown(rows, plan.idleTunnels);
  const notes = [...ceilingNotes(rows), ...idleNotes(rows)];
  const floorName = new Map(list.map((s) => [s.key, s.name]));
  const floorOf = new Map(
    list.filter((s) => s.floor && floorName.has(s.floor)).map((s) => [s.name, floorName.get(s.floor!)!]),
  );
  const floors = floorNotes(rows, floorOf);
  const report = [
    header(list),
    "",
    table,
    ...(floors.length ? ["", ...floors] : []),
    ...(notes.length ? ["", ...notes] : []),
  ]
    .join("\n");
  console.log(report);
  const dir = join(ROOT, ".tmp", "bench");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ plan, runs, results: Object.fromEntries(results), rows, report }, null, 2));
  log(`raw results: ${file}`);
}

await main();
process.exit(0);
