// The Deno memory trimmer's decisions (src/runtime/deno/trim.ts): when a
// check calls malloc_trim, with a fake trim and a fake heap reading, so it
// runs on both runtimes.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  MemoryTrimmer,
  shouldTrim,
  TRIM_AFTER_CLOSES,
  TRIM_AFTER_HEAP_DROP,
  TRIM_IDLE_CHECKS,
} from "../../src/runtime/deno/trim.ts";

const MiB = 1024 * 1024;

test("shouldTrim: many connections gone, or a heap that shrank, trims; steady churn does not", () => {
  assert.equal(shouldTrim({ open: 0, peakSinceTrim: 9000, heapTotal: 200 * MiB, previousHeapTotal: 200 * MiB }), true);
  assert.equal(
    shouldTrim({ open: 0, peakSinceTrim: TRIM_AFTER_CLOSES - 1, heapTotal: 20 * MiB, previousHeapTotal: 20 * MiB }),
    false,
  );
  assert.equal(
    shouldTrim({ open: 5, peakSinceTrim: 5, heapTotal: 20 * MiB, previousHeapTotal: 20 * MiB + TRIM_AFTER_HEAP_DROP }),
    true,
  );
  assert.equal(shouldTrim({ open: 300, peakSinceTrim: 320, heapTotal: 40 * MiB, previousHeapTotal: 41 * MiB }), false);
});

test("MemoryTrimmer: trims once after 9,000 connections close, again after the GC, then stops its timer", () => {
  let heap = 200 * MiB;
  let trims = 0;
  const t = new MemoryTrimmer(() => trims++, () => heap);
  try {
    for (let i = 0; i < 9000; i++) t.noteOpened();
    for (let i = 0; i < 9000; i++) t.noteClosed();
    assert.equal(t.open, 0);
    t.check();
    assert.equal(trims, 1, "the fall from 9,000 open connections trims");
    t.check();
    assert.equal(trims, 1, "nothing new: no second trim");
    heap = 22 * MiB; // V8's major GC gave its pages back
    t.check();
    assert.equal(trims, 2, "the heap drop trims the backing stores the GC freed");
    for (let i = 0; i < TRIM_IDLE_CHECKS + 1; i++) t.check();
    assert.equal(trims, 2);
  } finally {
    t.stop();
  }
});

test("MemoryTrimmer: a steady churn of a few hundred connections never trims", () => {
  let trims = 0;
  const t = new MemoryTrimmer(() => trims++, () => 30 * MiB);
  try {
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 200; i++) t.noteOpened();
      for (let i = 0; i < 200; i++) t.noteClosed();
      t.check();
    }
    assert.equal(trims, 0);
  } finally {
    t.stop();
  }
});
