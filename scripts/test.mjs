#!/usr/bin/env node
// Runs the whole test suite on Deno and on Bun (the same node:test files),
// after making sure the real peers the tests talk to are installed, and ends
// with one line `N passed, N failed` over both runtimes. Exit status 0 only
// when both runtimes ran and nothing failed.
//
// The two runtimes run at the same time, and each runs its test files in
// parallel as well (`deno test --parallel` with DENO_JOBS workers, `bun test
// --parallel=N`): most of a test's time is spent waiting (for a timeout, a
// child process, a peer), not computing, so a 2-core machine can run several
// files at once. TEST_JOBS sets the number of files each runtime runs at once
// (default 3; TEST_JOBS=1 runs them one after another, as a single file
// would). Each runtime's output is held back and printed whole when it
// finishes, so the two logs do not interleave; a `started` / `finished` line
// for each says where things stand meanwhile.
//
// Usage: node scripts/test.mjs [--only deno|bun] [test paths...]
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const args = process.argv.slice(2);
let only;
if (args[0] === "--only") {
  only = args[1];
  args.splice(0, 2);
}
const paths = args.length > 0 ? args : ["test/"];
const jobs = Number(process.env.TEST_JOBS ?? 3);
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error(`TEST_JOBS=${process.env.TEST_JOBS}: expected a whole number of at least 1`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const peers = spawnSync("bash", [join(root, "scripts", "test-peers.sh")], { stdio: "inherit", cwd: root });
if (peers.status !== 0) {
  console.error("test peers could not be installed (see above)");
  console.log("0 passed, 1 failed");
  process.exit(1);
}

/**
 * Run a command with its output held back; resolve with { code, text, replay }
 * where `text` is stdout and stderr together (for the summary) and `replay()`
 * writes both out, each to where it was meant to go, in the order they came.
 */
function run(cmd, argv, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const chunks = [];
    child.stdout.on("data", (d) => chunks.push([process.stdout, d]));
    child.stderr.on("data", (d) => chunks.push([process.stderr, d]));
    child.on("error", (error) => chunks.push([process.stderr, Buffer.from(`${cmd}: ${error.message}\n`)]));
    child.on("close", (code) => {
      const text = chunks.map(([, d]) => d.toString()).join("");
      const replay = () => {
        for (const [out, d] of chunks) out.write(d);
      };
      resolve({ code: code ?? 1, text, replay });
    });
  });
}

// deno's ANSI colours are off (NO_COLOR) and stripped anyway, so the summary
// line can be read back.
const strip = stripVTControlCharacters;

// Files that must not share their process with other test files: they
// measure the test process itself, which in `deno test --parallel` also
// holds every other worker (threads of one process) and in a `bun test
// --parallel` worker holds what earlier files left behind. backpressure
// bounds the process's RSS growth; accept bounds a client's service time
// behind 400 reset connections to 100 ms. They run in a runner process of
// their own, one after another, before the parallel run starts (so they
// share the machine only with the other runtime's, as every file used to).
const ALONE = ["test/runtime/accept.test.ts", "test/runtime/backpressure.test.ts"];
const clean = (p) => p.replace(/^\.\//, "").replace(/\/+$/, "");
const alone = jobs > 1
  ? ALONE.filter((file) =>
    paths.some((p) => clean(p) === "" || clean(p) === "." || file === clean(p) || file.startsWith(clean(p) + "/"))
  )
  : [];

// The files that take longest (waiting on time-outs, a real Prometheus, a
// container build, the fuzz run), longest first, as measured in a whole run
// on a 2-core machine (seconds on Deno, December 2026). Each runner takes
// files in the order given, so these start first and the short ones fill in
// around them, rather than a long one starting last and running alone at
// the end. Files not listed follow in path order.
const LONGEST = [
  "test/egress/slow-upstreams.test.ts", // 14 s
  "test/binary/smoke.test.ts", // 10 s
  "test/auth/proxy.test.ts", // 10 s
  "test/deploy/container.test.ts", // 9 s
  "test/server/access-control.test.ts", // 8 s
  "test/deploy/monitoring.test.ts", // 8 s
  "test/accounting/request-metrics.test.ts", // 8 s
  "test/accounting/access-log.test.ts", // 7 s
  "test/cli/validate-config.test.ts", // 7 s
  "test/http/metrics-formats.test.ts", // 7 s
  "test/cli/healthcheck.test.ts", // 6 s
  "test/hardening/fuzz.test.ts", // 4 s of fuzzing, 6 s in all
  "test/hardening/fuzz-session.test.ts", // 100,000 cases in process, 3-5 s
  "test/egress/proxy-pool.test.ts", // 5 s
  "test/auth/store.test.ts", // 4 s
];

/** Every `*.test.ts` file under `path` (itself when it is one), in path order. */
function testFiles(path) {
  const full = join(root, path);
  if (!existsSync(full) || !statSync(full).isDirectory()) return [clean(path)];
  return readdirSync(full, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => {
      const child = clean(path) === "" || clean(path) === "." ? e.name : `${clean(path)}/${e.name}`;
      if (e.isDirectory()) return testFiles(child);
      return e.name.endsWith(".test.ts") ? [child] : [];
    });
}

const rank = (file) => {
  const i = LONGEST.indexOf(file);
  return i < 0 ? LONGEST.length : i;
};
const rest = [...new Set(paths.flatMap(testFiles))]
  .filter((f) => !alone.includes(f))
  .map((file, i) => ({ file, i }))
  .sort((a, b) => rank(a.file) - rank(b.file) || a.i - b.i)
  .map(({ file }) => file);

/**
 * Run `chains` of invocations (argument lists) of one runner: the chains at
 * once, each chain's invocations one after the other; add their counts up.
 */
async function runAll(cmd, chains, env, count) {
  const invocations = chains.flat();
  const done = new Map();
  await Promise.all(chains.map(async (chain) => {
    for (const argv of chain) done.set(argv, await run(cmd, argv, env));
  }));
  const rs = invocations.map((argv) => done.get(argv));
  const counts = rs.map((r, i) => count(strip(r.text), invocations[i], r.code));
  return {
    code: rs.find((r) => r.code !== 0)?.code ?? 0,
    passed: counts.reduce((n, c) => n + (c?.passed ?? 0), 0),
    failed: counts.reduce((n, c) => n + (c?.failed ?? 0), 0),
    parsed: counts.every((c) => c !== undefined),
    replay: () => rs.forEach((r) => r.replay()),
  };
}

const runners = {
  deno: () => {
    // The type check (what `deno test` does before it runs anything) is a
    // `deno check` of the same paths next to the tests rather than a step in
    // front of them; a type error fails the run all the same.
    const base = ["test", "--allow-all", "--config", "deno.json", "--no-check"];
    const check = ["check", "--config", "deno.json", ...paths];
    const tests = [];
    if (alone.length > 0) tests.push([...base, ...alone]);
    if (rest.length > 0) {
      const parallel = jobs > 1 ? ["--parallel", ...alone.map((f) => `--ignore=${f}`)] : [];
      tests.push([...base, ...parallel, ...rest]);
    }
    return runAll(bin("deno"), [[check], tests], { NO_COLOR: "1", DENO_JOBS: String(jobs) }, (t, argv, code) => {
      if (argv === check) return { passed: 0, failed: code === 0 ? 0 : 1 };
      const m = t.match(/(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
      return m ? { passed: +m[1], failed: +m[2] } : undefined;
    });
  },
  bun: () => {
    const files = (list) => list.map((p) => "./" + clean(p));
    const base = ["test", "--timeout", "120000"];
    const tests = [];
    if (alone.length > 0) tests.push([...base, ...files(alone)]);
    if (rest.length > 0) {
      const parallel = jobs > 1 ? [`--parallel=${jobs}`, ...alone.map((f) => `--path-ignore-patterns=${f}`)] : [];
      tests.push([...base, ...parallel, ...files(rest)]);
    }
    return runAll(bin("bun"), [tests], { NO_COLOR: "1" }, (t) => {
      const p = t.match(/^\s*(\d+) pass$/m);
      const f = t.match(/^\s*(\d+) fail$/m);
      return p ? { passed: +p[1], failed: f ? +f[1] : 0 } : undefined;
    });
  },
};

const start = Date.now();
const seconds = () => ((Date.now() - start) / 1000).toFixed(1);
const names = Object.keys(runners).filter((name) => !only || only === name);
if (names.length === 0) {
  console.error(`--only ${only}: no such runtime (deno or bun)`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const results = await Promise.all(names.map(async (name) => {
  if (!existsSync(bin(name))) return { name, missing: true };
  console.error(`${name}: started`);
  const r = await runners[name]();
  console.error(`\n===== ${name}: finished after ${seconds()} s, its output follows =====`);
  r.replay();
  return { name, ...r };
}));

let passed = 0;
let failed = 0;
let ok = true;
const lines = [];
for (const r of results) {
  if (r.missing) {
    lines.push(`${r.name}: not installed (run npm install)`);
    failed += 1;
    ok = false;
    continue;
  }
  passed += r.passed;
  failed += r.failed;
  if (r.code !== 0 || !r.parsed) {
    ok = false;
    if (r.failed === 0) failed += 1; // the runner itself failed (crash, type error, no tests)
  }
  lines.push(`${r.name}: ${r.passed} passed, ${r.failed} failed (exit ${r.code})`);
}
console.log("\n" + lines.join("\n"));
console.log(`${passed} passed, ${failed} failed`);
// Not process.exit(): stdout is often a pipe (CI's `| tee`), where writes
// are asynchronous and exiting at once drops what is still queued, the
// replayed log's end and the summary line with it.
process.exitCode = ok && failed === 0 ? 0 : 1;
