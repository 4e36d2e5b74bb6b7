// Runtime adapter: the pull-mode read queue shared by the Bun and node:net
// connections, against a recording fake socket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NetError } from "../../src/runtime/index.ts";
import { PULL_HIGH_WATER, PullQueue } from "../../src/runtime/pull-queue.ts";

/** A socket that records pause/resume calls. */
function fakeFlow(): { calls: string[]; pause(): void; resume(): void } {
  const calls: string[] = [];
  return { calls, pause: () => calls.push("pause"), resume: () => calls.push("resume") };
}

test("pull queue: a pending next() gets the pushed chunk directly, nothing is queued", async () => {
  const flow = fakeFlow();
  const q = new PullQueue(flow);
  const p = q.next();
  const d = new Uint8Array([1, 2, 3]);
  q.push(d);
  assert.equal(await p, d);
  assert.equal(q.shift(true), undefined);
  assert.deepEqual(flow.calls, []);
});

test("pull queue: pauses once at the high-water mark, resumes once a read takes it below", () => {
  const flow = fakeFlow();
  const q = new PullQueue(flow);
  const half = PULL_HIGH_WATER / 2;
  q.push(new Uint8Array(half));
  assert.deepEqual(flow.calls, [], "below the mark: still reading");
  q.push(new Uint8Array(half));
  q.push(new Uint8Array(10));
  assert.deepEqual(flow.calls, ["pause"], "paused once, at the mark");
  assert.equal(q.paused, true);
  assert.equal(q.shift(false)?.length, half, "shift(false) takes a chunk but leaves the socket paused");
  assert.deepEqual(flow.calls, ["pause"]);
  assert.equal(q.shift(true)?.length, half);
  assert.deepEqual(flow.calls, ["pause", "resume"], "resumed once below the mark");
  assert.equal(q.paused, false);
  assert.equal(q.shift(true)?.length, 10);
  assert.equal(q.shift(true), undefined);
});

test("pull queue: next() on a paused queue resumes; settle() ends a pending next() with null or the error", async () => {
  const flow = fakeFlow();
  const q = new PullQueue(flow);
  q.push(new Uint8Array(PULL_HIGH_WATER));
  q.shift(false);
  const p = q.next();
  assert.deepEqual(flow.calls, ["pause", "resume"]);
  q.settle(null);
  assert.equal(await p, null);
  const failed = q.next();
  const error = new NetError("ECONNRESET", "reset");
  q.settle(error);
  await assert.rejects(failed, error);
});

test("pull queue: after detach() the socket is never paused or resumed, queued chunks stay readable", () => {
  const flow = fakeFlow();
  const q = new PullQueue(flow);
  q.push(new Uint8Array(PULL_HIGH_WATER));
  q.detach();
  q.push(new Uint8Array(1));
  assert.equal(q.shift(true)?.length, PULL_HIGH_WATER);
  assert.equal(q.shift(true)?.length, 1);
  assert.deepEqual(flow.calls, ["pause"], "only the pause before detach()");
});
