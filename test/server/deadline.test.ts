// withTimeout, the bound on every handshake step and on the outbound
// connect: whichever of the work and the timer settles first, nothing it
// creates rejects unobserved (issue 16), and the timer never outlives the
// work. Each case ends by letting a timer scheduled after the step's own
// bound fire: timers fire in order of expiry, so by then a step timer that
// was not cleared would have fired too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { StepTimeoutError, withTimeout } from "../../src/runtime/index.ts";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
before(() => void process.on("unhandledRejection", onUnhandled));
after(() => void process.off("unhandledRejection", onUnhandled));

const BOUND = 0.01; // seconds
/** Resolves once a timer due after the step's bound has fired (and the microtasks behind it ran). */
const pastTheBound = () => new Promise<void>((resolve) => setTimeout(() => setImmediate(resolve), BOUND * 1000 * 3));

test("work rejects first: the caller gets its error, the timer never fires", async () => {
  let expired = 0;
  const error = new Error("boom");
  await assert.rejects(withTimeout("step", BOUND, () => Promise.reject(error), () => expired++), error);
  await pastTheBound();
  assert.equal(expired, 0);
  assert.deepEqual(unhandled, []);
});

test("work resolves first: the caller gets its value, the timer never fires", async () => {
  let expired = 0;
  assert.equal(await withTimeout("step", BOUND, () => Promise.resolve(42), () => expired++), 42);
  await pastTheBound();
  assert.equal(expired, 0);
  assert.deepEqual(unhandled, []);
});

test("the timer fires first: StepTimeoutError, the signal aborts, and the late rejection is observed", async () => {
  let expired = 0;
  let fail!: (error: Error) => void;
  let seen: AbortSignal | undefined;
  const step = withTimeout("greeting", BOUND, (signal) => {
    seen = signal;
    return new Promise<never>((_, reject) => fail = reject);
  }, () => expired++);
  await assert.rejects(step, (error: unknown) => {
    assert.ok(error instanceof StepTimeoutError);
    assert.equal(error.code, "ETIMEDOUT");
    assert.match(error.message, /greeting did not complete within 0\.01s/);
    return true;
  });
  assert.equal(expired, 1);
  assert.ok(seen?.aborted);
  assert.ok(seen.reason instanceof StepTimeoutError);
  fail(new Error("late failure after the expiry"));
  await pastTheBound();
  assert.equal(expired, 1);
  assert.deepEqual(unhandled, []);
});

test("the timer fires first and the work resolves late: the value is ignored, nothing rejects", async () => {
  let finish!: (value: number) => void;
  const step = withTimeout("connect", BOUND, () => new Promise<number>((resolve) => finish = resolve));
  await assert.rejects(step, StepTimeoutError);
  finish(1);
  await pastTheBound();
  assert.deepEqual(unhandled, []);
});

test("work throws synchronously: a rejected promise, no timer left behind", async () => {
  let expired = 0;
  const error = new Error("thrown before any promise");
  const step = withTimeout("step", BOUND, () => {
    throw error;
  }, () => expired++);
  assert.ok(step instanceof Promise);
  await assert.rejects(step, error);
  await pastTheBound();
  assert.equal(expired, 0);
  assert.deepEqual(unhandled, []);
});
