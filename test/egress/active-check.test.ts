// Active health checks on virtual time: the first check one interval after
// start, then one per interval; fall failures in a row take the source
// down (suspended, reason HealthCheck), rise passes in a row bring it back;
// stop() ends the schedule. The probe is scripted; the real exchange
// against a stopped and restarted upstream is in upstreams.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ActiveCheck, type CheckedSource, SourceSuspension } from "../../src/egress/index.ts";
import { collectLogs, ManualClock, recorder } from "./helpers.ts";

const logs = collectLogs();

/** A source whose probe passes or fails as `results` says, one entry per check. */
function scripted(results: boolean[], clock: ManualClock, observer = recorder()) {
  const probes: number[] = [];
  const source: CheckedSource = {
    name: "up",
    suspension: new SourceSuspension("up", { observer, clock }),
    probe: (timeout: number) => {
      probes.push(timeout);
      const passed = results.shift();
      if (passed === undefined) throw new Error("unexpected probe");
      return passed ? Promise.resolve() : Promise.reject(new Error("connection refused"));
    },
  };
  return { source, probes, observer };
}

test("checks run every interval from one interval after start; fall 2 takes the source down, rise 2 brings it back", async () => {
  const clock = new ManualClock();
  const { source, probes, observer } = scripted([true, false, false, true, true], clock);
  const check = new ActiveCheck(source, { interval: 30, timeout: 5, fall: 2, rise: 2 }, { clock });
  check.start();
  check.start();
  assert.equal(clock.pending, 1, "start is idempotent");
  const tick = async () => {
    clock.advance(30_000);
    await check.settled();
  };

  clock.advance(29_999);
  assert.equal(probes.length, 0, "nothing before the first interval");
  clock.advance(1);
  await check.settled();
  assert.deepEqual(probes, [5], "one check, bounded by the timeout");
  assert.equal(source.suspension.checksUp, true);

  await tick();
  assert.equal(source.suspension.checksUp, true, "one failure is not fall 2");
  assert.equal(observer.count("suspended", "up"), 0);
  await tick();
  assert.equal(source.suspension.checksUp, false, "the second failure in a row is");
  assert.deepEqual(source.suspension.current(), { reason: "HealthCheck", remaining: Infinity });
  assert.equal(observer.count("suspended", "up", "HealthCheck"), 1);
  assert.equal(observer.lastHealth("up"), false);
  assert.match(logs.text(), /egress source up health check failed 2 times: down \(connection refused\)/);

  await tick();
  assert.equal(source.suspension.checksUp, false, "one pass is not rise 2");
  await tick();
  assert.equal(source.suspension.checksUp, true);
  assert.equal(source.suspension.current(), undefined);
  assert.equal(observer.count("unsuspended", "up", "HealthCheck"), 1);
  assert.equal(observer.lastHealth("up"), true);
  assert.match(logs.text(), /egress source up health check passed 2 times: up/);
  assert.equal(probes.length, 5);

  assert.equal(clock.pending, 1, "the next check is scheduled");
  await check.stop();
  assert.equal(clock.pending, 0, "stop cancels it");
  clock.advance(300_000);
  assert.equal(probes.length, 5, "no check after stop");
});

test("a pass resets the failure count: fail, pass, fail with fall 2 never goes down", async () => {
  const clock = new ManualClock();
  const { source, observer } = scripted([false, true, false], clock);
  const check = new ActiveCheck(source, { interval: 1, timeout: 1, fall: 2, rise: 1 }, { clock });
  check.start();
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    await check.settled();
  }
  assert.equal(source.suspension.checksUp, true);
  assert.equal(observer.count("suspended", "up"), 0);
  await check.stop();
});
