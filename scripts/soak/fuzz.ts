/**
 * `npm run soak`: the long versions of `test/hardening/fuzz-session.test.ts`
 * and `test/hardening/fuzz.test.ts`, on each runtime in turn. First the
 * in-process fuzz (`session-fuzz.ts`, run on that runtime): `--cases`
 * handshakes through `runSession`, with its per-session checks. Then three
 * phases against one proxy-server run from source,
 * each followed by the same checks (the process alive,
 * `proxy_active_connections` back to 0, `/proc/PID/fd` back to its start
 * count, no stack trace, `error:`, `Uncaught`, `panic` or unhandled
 * rejection in its stderr, and curl served through it):
 *
 * 1. fuzz: `--cases` (default 1,000,000) malformed, mutated and truncated
 *    handshakes, 64 connections at a time, from `--seed` (the same cases
 *    as the in-process fuzz);
 * 2. stalled clients: `--stalled` (default 1,000) connections that send half
 *    a greeting (or nothing) and wait; the proxy must close every one at its
 *    listener `timeout` (2 s here) and serve a normal CONNECT meanwhile;
 * 3. tunnels: `--tunnels` (default 9,000) tunnels open at once (the C load
 *    generator, one 32-byte echo each), then all closed.
 *
 * Usage: bun scripts/soak/fuzz.ts [--runtime deno|bun|both] [--cases N]
 *        [--seed N] [--stalled N] [--tunnels N]
 * Exit status 0 when every check passed on every runtime.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { buildLoadgen, holdLoadgen } from "../bench/loadgen.ts";
import { curl } from "../../test/helpers/curl.ts";
import { closedPort } from "../../test/helpers/peers.ts";
import { ROOT, type RunningProxy } from "../../test/helpers/proxy-process.ts";
import { startHttpTarget } from "../../test/helpers/target.ts";
import { FUZZ_USER } from "../../test/hardening/fuzz-cases.ts";
import {
  type Echo,
  logProblems,
  openFds,
  pollUntil,
  runFuzz,
  scrapeMetric,
  startEcho,
} from "../../test/hardening/fuzz-client.ts";
import { type RuntimeName, startSoakProxy } from "./proxy.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runtime: { type: "string", default: "both" },
    cases: { type: "string", default: "1000000" },
    seed: { type: "string", default: String(Date.now() % 2 ** 31) },
    stalled: { type: "string", default: "1000" },
    tunnels: { type: "string", default: "9000" },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const stalledCount = Number(values.stalled);
const tunnels = Number(values.tunnels);
const runtimes: RuntimeName[] = values.runtime === "both" ? ["deno", "bun"] : [values.runtime as RuntimeName];
const log = (text: string) => process.stderr.write(text + "\n");

/** One failed check. */
class CheckFailed extends Error {}

function check(ok: boolean, what: string): void {
  if (!ok) throw new CheckFailed(what);
}

/** The checks after each phase; `fdsBefore` is the descriptor count before it. */
async function checkClean(proxy: RunningProxy, phase: string, fdsBefore: number, webPort: number): Promise<void> {
  const pid = proxy.child.pid!;
  check(proxy.child.exitCode === null, `${phase}: the proxy exited (${proxy.child.exitCode})`);
  const httpPort = proxy.httpPorts[0];
  const active = await pollUntil(() => scrapeMetric(httpPort, "proxy_active_connections"), (n) => n === 0, 30_000);
  check(active === 0, `${phase}: proxy_active_connections stayed at ${active}`);
  const fds = await pollUntil(() => openFds(pid), (n) => n <= fdsBefore, 30_000);
  check(fds <= fdsBefore, `${phase}: ${fds} descriptors open, ${fdsBefore} before`);
  const problems = logProblems(proxy.log());
  check(
    problems.length === 0,
    `${phase}: ${problems.length} bad lines in stderr, first: ${problems.slice(0, 5).join(" | ")}`,
  );
  const r = await curl(["--socks5", `127.0.0.1:${proxy.ports[0]}`, `http://127.0.0.1:${webPort}/`]);
  check(r.code === 0 && r.stdout === "hello from target\n", `${phase}: curl through the proxy failed: ${r.stderr}`);
  log(`  ${phase}: clean (active 0, ${fds} descriptors, ${fdsBefore} before, stderr clean, CONNECT served)`);
}

/** Phase 2: `count` clients that stall mid-greeting; all must be closed by the proxy at its timeout. */
async function stalledClients(port: number, count: number, webPort: number): Promise<void> {
  const sockets: Socket[] = [];
  let closedByProxy = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) =>
    new Promise<void>((resolve) => {
      const s = connect({ port, host: "127.0.0.1" });
      sockets.push(s);
      s.on("error", () => {});
      s.on("close", () => closedByProxy++);
      s.once("connect", () => {
        if (i % 2 === 0) s.write(Uint8Array.of(5, 2)); // half a greeting, then nothing
        resolve();
      });
    })));
  log(`  stalled: ${count} clients connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // A normal client is served while they stall.
  const r = await curl(["--socks5", `127.0.0.1:${port}`, `http://127.0.0.1:${webPort}/`]);
  check(r.code === 0, `stalled: a normal CONNECT was not served among ${count} stalled clients: ${r.stderr}`);
  const closed = await pollUntil(() => closedByProxy, (n) => n === count, 30_000, 200);
  for (const s of sockets) s.destroy();
  check(closed === count, `stalled: the proxy closed only ${closed} of ${count} stalled clients within 30 s`);
  log(`  stalled: all ${count} closed by the proxy after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Phase 3: `count` tunnels open at once through the C load generator, then closed. */
async function manyTunnels(port: number, echo: Echo, count: number): Promise<void> {
  const parse = (line: string) => JSON.parse(line) as { opened: number; failed: number; seconds: number };
  const held = await holdLoadgen(["idle", port, echo.port, count], 180_000, parse);
  log(`  tunnels: ${held.result.opened} open (${held.result.failed} failed) in ${held.result.seconds} s`);
  await held.release();
  check(held.result.opened === count, `tunnels: only ${held.result.opened} of ${count} opened`);
}

/** The in-process fuzz (`session-fuzz.ts`) on `runtime`, its report on our stderr; true when it passed. */
function inProcessFuzz(runtime: RuntimeName): Promise<boolean> {
  const bin = join(ROOT, "node_modules", ".bin", runtime);
  const script = join(ROOT, "scripts/soak/session-fuzz.ts");
  const args = ["--cases", String(cases), "--seed", String(seed)];
  const argv = runtime === "deno"
    ? ["run", "--allow-all", "--quiet", "--config", join(ROOT, "deno.json"), script, ...args]
    : [script, ...args];
  return new Promise((resolve) => {
    const child = spawn(bin, argv, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", (error) => {
      log(`  in-process fuzz: ${error.message}`);
      resolve(false);
    });
    child.on("close", (code) => resolve(code === 0));
  });
}

async function soak(runtime: RuntimeName): Promise<boolean> {
  log(`${runtime}:`);
  if (!(await inProcessFuzz(runtime))) {
    log(`  FAILED: in-process fuzz (seed ${seed}: rerun with --seed ${seed})`);
    return false;
  }
  const echo = await startEcho();
  const web = await startHttpTarget();
  const proxy = await startSoakProxy(runtime, { users: [{ ...FUZZ_USER }] }, { timeout: "2s" });
  try {
    const pid = proxy.child.pid!;
    const r = await curl(["--socks5", `127.0.0.1:${proxy.ports[0]}`, `http://127.0.0.1:${web.port}/`]);
    check(r.code === 0, `warm-up CONNECT failed: ${r.stderr}`);
    await scrapeMetric(proxy.httpPorts[0], "proxy_active_connections");
    let fdsBefore = openFds(pid);

    const stats = await runFuzz({
      port: proxy.ports[0],
      count: cases,
      concurrency: 64,
      seed,
      targets: { openPort: echo.port, closedPort: await closedPort() },
      deadlineMs: 3_600_000,
    });
    log(
      `  fuzz: ${stats.cases} cases in ${(stats.elapsedMs / 1000).toFixed(1)} s, ${stats.casesPerSecond} cases/s, ` +
        `seed ${seed}, hung ${stats.hung}, connect errors ${stats.connectErrors}, kinds ${
          JSON.stringify(stats.byKind)
        }`,
    );
    check(stats.cases === cases, `fuzz: ${stats.cases} of ${cases} cases ran`);
    check(stats.connectErrors === 0, `fuzz: ${stats.connectErrors} connections refused`);
    check(stats.hung === 0, `fuzz: ${stats.hung} connections left open, e.g. ${stats.hungSamples.join(" ; ")}`);
    await checkClean(proxy, "fuzz", fdsBefore, web.port);

    fdsBefore = openFds(pid);
    await stalledClients(proxy.ports[0], stalledCount, web.port);
    await checkClean(proxy, "stalled", fdsBefore, web.port);

    fdsBefore = openFds(pid);
    await manyTunnels(proxy.ports[0], echo, tunnels);
    await checkClean(proxy, "tunnels", fdsBefore, web.port);
    return true;
  } catch (error) {
    if (!(error instanceof CheckFailed)) throw error;
    log(`  FAILED: ${error.message} (seed ${seed}: rerun with --seed ${seed})`);
    return false;
  } finally {
    await proxy.stop();
    await echo.close();
    await web.close();
  }
}

buildLoadgen();
let ok = true;
for (const runtime of runtimes) ok = (await soak(runtime)) && ok;
log(ok ? "soak: every check passed" : "soak: FAILED");
process.exit(ok ? 0 : 1);
