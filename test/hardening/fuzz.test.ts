// Socket fuzz: malformed, mutated and truncated SOCKS5 handshakes
// (greeting, RFC 1929, requests with every ATYP, BIND-then-CONNECT,
// garbage; fuzz-cases.ts) sent over real loopback connections to a
// proxy-server started from source, then what an operator would check and
// only a process shows: the process is alive, proxy_active_connections
// (scraped from /metrics) is back to 0, its descriptors are back to where
// they started, its stderr has no stack trace or escaped error, and a
// normal CONNECT is still served.
//
// The per-session checks, and the 100,000 cases issue 16 asks for, are the
// in-process fuzz's (fuzz-session.test.ts: the same generator through
// runSession over in-memory connections, 25,000-40,000 cases/s). Here each
// case is a connection and a session, about 1 ms of CPU (client and proxy,
// mostly connect and accept): 4,000-5,000 cases/s on an idle 2-core
// machine, 1,800 under the suite's load. So the run is bounded in time
// (FUZZ_SECONDS, default 4 per runtime) and in count (FUZZ_CASES, default
// 100,000), and runs at least MIN_CASES (3,000; past the time bound when
// the machine is that loaded, within 60 s). `npm run soak` runs 1,000,000
// of each. The rate is printed. FUZZ_SEED=N reproduces a run.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { curl } from "../helpers/curl.ts";
import { closedPort } from "../helpers/peers.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { type HttpTarget, startHttpTarget } from "../helpers/target.ts";
import { FUZZ_USER } from "./fuzz-cases.ts";
import { type Echo, logProblems, openFds, pollUntil, runFuzz, scrapeMetric, startEcho } from "./fuzz-client.ts";

const CASES = Number(process.env.FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? (Date.now() % 2 ** 31));
/** Bound on the fuzz loop itself. */
const DEADLINE_MS = Number(process.env.FUZZ_SECONDS ?? 4) * 1000;
/** Fewest cases that must fit in the time bound, however loaded the machine. */
const MIN_CASES = Math.min(CASES, 3_000);

let proxy: RunningProxy;
let echo: Echo;
let web: HttpTarget;

before(async () => {
  echo = await startEcho();
  web = await startHttpTarget();
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", timeout: "5s" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    users: [{ username: FUZZ_USER.username, password: FUZZ_USER.password }],
  });
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
  await web?.close();
});

async function servesConnect(): Promise<void> {
  const r = await curl(["--socks5", `127.0.0.1:${proxy.ports[0]}`, `http://127.0.0.1:${web.port}/`]);
  assert.equal(r.code, 0, `a normal CONNECT was not served: ${r.stderr}`);
  assert.equal(r.stdout, "hello from target\n");
}

test(`up to ${CASES} fuzzed handshakes in ${DEADLINE_MS / 1000} s: the proxy survives, cleans up and still serves`, async () => {
  const pid = proxy.child.pid!;
  const [port] = proxy.ports;
  const [httpPort] = proxy.httpPorts;
  // Warm up the paths a descriptor count could catch mid-way (first CONNECT, first scrape).
  await servesConnect();
  await scrapeMetric(httpPort, "proxy_active_connections");
  const fdsBefore = openFds(pid);
  const runtime = "Deno" in globalThis ? "deno" : "bun";

  const stats = await runFuzz({
    port,
    count: CASES,
    concurrency: 64,
    seed: SEED,
    targets: { openPort: echo.port, closedPort: await closedPort() },
    deadlineMs: DEADLINE_MS,
    // Under load the time bound may come before MIN_CASES: go on to them, within 60 s.
    minCount: MIN_CASES,
    hardDeadlineMs: 60_000,
  });
  const where = `seed ${SEED} (rerun with FUZZ_SEED=${SEED}); ${JSON.stringify(stats)}`;
  process.stderr.write(
    `fuzz on ${runtime}: ${stats.cases} cases in ${(stats.elapsedMs / 1000).toFixed(1)} s, ` +
      `${stats.casesPerSecond} cases/s, ${echo.accepted()} tunnels to the echo target, seed ${SEED}\n`,
  );

  assert.equal(proxy.child.exitCode, null, `the proxy exited; ${where}\n${proxy.log()}`);
  assert.ok(stats.cases >= MIN_CASES, `only ${stats.cases} cases fitted in 60 s; ${where}`);
  assert.equal(stats.connectErrors, 0, `the listener refused connections; ${where}`);
  assert.equal(stats.hung, 0, `the proxy left connections open after the client was done; ${where}`);

  const active = await pollUntil(() => scrapeMetric(httpPort, "proxy_active_connections"), (n) => n === 0, 10_000);
  assert.equal(active, 0, `proxy_active_connections stayed at ${active}; ${where}`);
  const fds = await pollUntil(() => openFds(pid), (n) => n <= fdsBefore, 10_000);
  assert.ok(fds <= fdsBefore, `${fds} descriptors open, ${fdsBefore} before the fuzz; ${where}`);

  const problems = logProblems(proxy.log());
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad lines in the proxy's stderr; ${where}`);
  await servesConnect();
});
