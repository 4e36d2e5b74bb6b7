// The egress side of the cluster seam (issue 15), without Redis: what a
// SourceSuspension hands to its SuspensionShare and how it applies what
// other instances send, on a manual clock. Rule and operator suspensions
// and operator clears are shared; HealthCheck ones are not and survive
// another instance's clear; share_failure_windows decides by the shared
// count, and by the local one when the share cannot answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type FailureKind,
  HEALTH_CHECK_REASON,
  SourceSuspension,
  type SuspensionShare,
} from "../../src/egress/index.ts";
import { ManualClock, recorder } from "../egress/helpers.ts";

/** A share that records its calls and answers countFailure with `counts` in turn. */
function fakeShare(counts: (number | undefined)[] = []) {
  const calls: string[] = [];
  const share: SuspensionShare = {
    instance: "me",
    suspended: (source, reason, seconds) => void calls.push(`suspended ${source} ${reason} ${seconds}`),
    cleared: (source) => void calls.push(`cleared ${source}`),
    countFailure: (source: string, kind: FailureKind, period: number) => {
      calls.push(`count ${source} ${kind} ${period}`);
      return Promise.resolve(counts.shift());
    },
  };
  return { share, calls };
}

test("rule and operator suspensions and operator clears go to the share; HealthCheck stays local", () => {
  const { share, calls } = fakeShare();
  const clock = new ManualClock();
  const s = new SourceSuspension("s", {
    observer: recorder(),
    clock,
    share,
    rules: { ProxyUnhealthy: { trigger: "Immediate", duration: 60 } },
  });
  assert.equal(s.recordFailure("ProxyUnhealthy"), true);
  assert.deepEqual(s.current(), { reason: "ProxyUnhealthy", remaining: 60, clusterWide: true, instance: "me" });
  s.suspend("maintenance", 600, "admin");
  s.clear("admin");
  s.setChecksUp(false);
  assert.equal(s.current()?.reason, HEALTH_CHECK_REASON);
  assert.equal(s.current()?.clusterWide, false);
  assert.deepEqual(calls, ["suspended s ProxyUnhealthy 60", "suspended s maintenance 600", "cleared s"]);
});

test("another instance's suspension applies with the same transitions and ends by its TTL", () => {
  const { share, calls } = fakeShare();
  const clock = new ManualClock();
  const observer = recorder();
  const s = new SourceSuspension("s", { observer, clock, share });
  s.applyShared("maintenance", 30, "other");
  assert.deepEqual(s.current(), { reason: "maintenance", remaining: 30, clusterWide: true, instance: "other" });
  assert.equal(s.healthy, false);
  assert.equal(observer.count("suspended", "s", "maintenance"), 1);
  clock.advance(30_000);
  assert.equal(s.current(), undefined);
  assert.equal(s.healthy, true);
  assert.equal(observer.count("unsuspended", "s", "maintenance"), 1);
  assert.deepEqual(calls, [], "nothing handed back to the share");
});

test("another instance's clear ends a shared suspension but not a local HealthCheck one", () => {
  const { share } = fakeShare();
  const clock = new ManualClock();
  const s = new SourceSuspension("s", { observer: recorder(), clock, share });
  s.applyShared("maintenance", 30, "other");
  assert.equal(s.clearShared("other"), true);
  assert.equal(s.current(), undefined);
  s.setChecksUp(false);
  assert.equal(s.clearShared("other"), false);
  s.applyShared("maintenance", 30, "other");
  assert.equal(s.current()?.reason, HEALTH_CHECK_REASON, "a shared suspension does not replace the local verdict");
});

test("share_failure_windows: the shared count trips Threshold 3/5m; without an answer the local count decides", async () => {
  const rule = { trigger: { limit: 3, period: 300 }, duration: 60 };
  const { share, calls } = fakeShare([1, 3]);
  const clock = new ManualClock();
  const s = new SourceSuspension("s", {
    observer: recorder(),
    clock,
    share,
    shareFailures: true,
    rules: { ProxyUnhealthy: rule },
  });
  assert.equal(s.recordFailure("ProxyUnhealthy"), false);
  await Promise.resolve();
  assert.equal(s.current(), undefined, "1 in the cluster");
  assert.equal(s.recordFailure("ProxyUnhealthy"), false);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(s.current()?.reason, "ProxyUnhealthy", "3 in the cluster, 2 here");
  assert.deepEqual(calls.slice(0, 2), ["count s ProxyUnhealthy 300", "count s ProxyUnhealthy 300"]);

  const local = fakeShare([undefined, undefined, undefined]);
  const t = new SourceSuspension("t", {
    observer: recorder(),
    clock,
    share: local.share,
    shareFailures: true,
    rules: { ProxyUnhealthy: rule },
  });
  for (let i = 0; i < 2; i++) t.recordFailure("ProxyUnhealthy");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(t.current(), undefined, "2 local failures, no shared answer");
  t.recordFailure("ProxyUnhealthy");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(t.current()?.reason, "ProxyUnhealthy", "the third local failure trips it");
});

test("without a share nothing changes: no cluster fields, failures counted locally", () => {
  const clock = new ManualClock();
  const s = new SourceSuspension("s", {
    observer: recorder(),
    clock,
    shareFailures: true,
    rules: { ProxyUnhealthy: { trigger: { limit: 2, period: 300 }, duration: 60 } },
  });
  assert.equal(s.recordFailure("ProxyUnhealthy"), false);
  assert.equal(s.recordFailure("ProxyUnhealthy"), true);
  assert.deepEqual(s.current(), { reason: "ProxyUnhealthy", remaining: 60 });
});
