// In-process fuzz: the malformed, mutated and truncated handshakes of
// fuzz-cases.ts (the socket fuzz's generator) put through the real session
// code, runSession, over in-memory client connections, 128 sessions at a
// time, with the context a server builds (listener settings from
// sessionSettings, a user store with FUZZ_USER, the access policy, the
// metrics observer behind the access log, the runtime's BIND probe) on four
// listeners (the socket fuzz's, require_auth, no domain names, and a 50 ms
// timeout / 100 ms idle_timeout one that the 2% of clients that stall come
// in on). CONNECTs reach only the safe targets: the in-memory echo, or for
// a fifth of them the real direct dialer to a loopback echo server, or a
// refusal for the closed port.
//
// Per case (see fuzz-session.ts): the session resolves within 2 s (8 s if it
// dialled a real socket; the listeners' timeout is 10 s), its
// outcome is well formed and reported once, every byte written to the
// client is an RFC 1928/1929 reply in the allowed order (tunnel bytes equal
// bytesDown), the client and every outbound connection were closed, and a
// client that did not stall never ends in timeout or idle. Over the run:
// proxy_active_connections back to 0, no timer left pending, no unhandled
// rejection, no ERROR log line, no connection left at the echo target.
// What only a process shows (descriptors, /metrics, stderr, a CONNECT
// served after) is the socket fuzz's, fuzz.test.ts.
//
// FUZZ_INPROC_CASES cases (default 100,000), which must all run within
// FUZZ_INPROC_SECONDS (default 60); 2.5-4 s per runtime on an idle 2-core
// machine (25,000-40,000 cases/s; the rate is printed). FUZZ_SEED=N
// reproduces a run (the same cases as the socket fuzz with that seed).
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { runSessionFuzz } from "./fuzz-session.ts";

const CASES = Number(process.env.FUZZ_INPROC_CASES ?? 100_000);
const SECONDS = Number(process.env.FUZZ_INPROC_SECONDS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? (Date.now() % 2 ** 31));

test(`${CASES} fuzzed handshakes through runSession: each ends well formed, nothing is left behind`, async () => {
  const stats = await runSessionFuzz({ count: CASES, seed: SEED, deadlineMs: SECONDS * 1000 });
  const runtime = "Deno" in globalThis ? "deno" : "bun";
  process.stderr.write(
    `in-process fuzz on ${runtime}: ${stats.cases} cases in ${(stats.elapsedMs / 1000).toFixed(1)} s, ` +
      `${stats.casesPerSecond} cases/s, dials ${JSON.stringify(stats.dials)}, ends ${JSON.stringify(stats.byEnd)}, ` +
      `seed ${SEED}\n`,
  );
  const where = `seed ${SEED} (rerun with FUZZ_SEED=${SEED})`;
  assert.deepEqual(stats.failureSamples, [], `${stats.failures} failed checks; ${where}`);
  assert.equal(stats.failures, 0, `${stats.failures} failed checks; ${where}`);
  assert.equal(stats.hung, 0, `${stats.hung} sessions did not settle; ${where}`);
  assert.equal(stats.cases, CASES, `only ${stats.cases} of ${CASES} cases ran in ${SECONDS} s; ${where}`);
  assert.deepEqual(stats.unhandled, [], `unhandled rejections; ${where}`);
  assert.deepEqual(stats.logProblems, [], `ERROR log lines; ${where}`);
  assert.equal(stats.activeAfter, 0, `proxy_active_connections is ${stats.activeAfter} after the run; ${where}`);
  assert.equal(stats.timersLeft, 0, `${stats.timersLeft} timers still pending after the run; ${where}`);
  assert.equal(stats.echoOpen, 0, `${stats.echoOpen} connections left open at the echo target; ${where}`);
});
