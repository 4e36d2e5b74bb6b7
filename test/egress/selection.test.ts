// Pool selection: kumod's interleaved weighted round robin, skipping
// suspended sources; "every source is suspended" names the earliest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AllSourcesSuspendedError, EgressPool, EgressSource, NoSourcesError } from "../../src/egress/index.ts";
import { runtime } from "./helpers.ts";

function direct(name: string): EgressSource {
  return new EgressSource(name, {}, { runtime });
}

function shares(pool: EgressPool, n: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = pool.select().name;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

test("weights 3:1 give 75/25 over 100 selections, interleaved", () => {
  const pool = new EgressPool("p", [{ source: direct("a"), weight: 3 }, { source: direct("b"), weight: 1 }]);
  assert.deepEqual(shares(pool, 100), { a: 75, b: 25 });
  const seq = Array.from({ length: 8 }, () => pool.select().name).join("");
  assert.match(seq, /^(aaab|aaba|abaa|baaa)+$/, "b comes once in every four");
});

test("weights 5:2:3 give 50/20/30 over 100 selections (kumod's own test case)", () => {
  const pool = new EgressPool("p", [
    { source: direct("one"), weight: 5 },
    { source: direct("two"), weight: 2 },
    { source: direct("three"), weight: 3 },
  ]);
  assert.deepEqual(shares(pool, 100), { one: 50, two: 20, three: 30 });
});

test("equal weights share equally; weight 0 is never chosen; the default weight is 1", () => {
  const pool = new EgressPool("p", [
    { source: direct("a") },
    { source: direct("b"), weight: 1 },
    { source: direct("never"), weight: 0 },
  ]);
  assert.deepEqual(shares(pool, 10), { a: 5, b: 5 });
});

test("a suspended source is skipped; the others keep their relative shares", () => {
  const a = direct("a");
  const pool = new EgressPool("p", [
    { source: a, weight: 2 },
    { source: direct("b"), weight: 1 },
    { source: direct("c"), weight: 1 },
  ]);
  a.suspension.suspend("Admin", 60, "admin");
  assert.deepEqual(shares(pool, 10), { b: 5, c: 5 });
  a.suspension.clear("admin");
  const after = shares(pool, 40);
  assert.deepEqual(after, { a: 20, b: 10, c: 10 });
});

test("every source suspended: the error names the one that comes back first", () => {
  const a = direct("a");
  const b = direct("b");
  const pool = new EgressPool("p", [{ source: a }, { source: b }]);
  a.suspension.suspend("ProxyUnhealthy", 30, "rule");
  b.suspension.suspend("Admin", 5, "admin");
  assert.throws(() => pool.select(), (error: unknown) => {
    assert.ok(error instanceof AllSourcesSuspendedError);
    assert.equal(error.pool, "p");
    assert.equal(error.source, "b");
    assert.ok(error.retryAfter > 0 && error.retryAfter <= 5);
    return true;
  });
  a.suspension.dispose();
  b.suspension.dispose();
});

test("a pool without any source of non-zero weight raises NoSourcesError", () => {
  assert.throws(() => new EgressPool("empty", [{ source: direct("x"), weight: 0 }]).select(), NoSourcesError);
  assert.throws(() => new EgressPool("bad", [{ source: direct("x"), weight: 1.5 }]), RangeError);
});

test("a contradictory source spec is refused by the library too", () => {
  assert.throws(
    () => new EgressSource("x", { ha_proxy_server: { host: "127.0.0.1", port: 1 } }, { runtime }),
    /ha_proxy_source_address/,
  );
  assert.throws(
    () => new EgressSource("x", { health_check: { interval: 1, timeout: 1, fall: 1, rise: 1 } }, { runtime }),
    TypeError,
  );
});
