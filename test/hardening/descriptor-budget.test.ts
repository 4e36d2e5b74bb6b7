// The pieces of issue 16's out-of-descriptors handling that a spawned proxy
// cannot show deterministically: the budget's arithmetic, and an outbound
// connect that fails with EMFILE answering REP 0x01 as the proxy's own
// failure (egress class "Local": no suspension, no failover).
import { test } from "node:test";
import assert from "node:assert/strict";
import { budgetMargin, DescriptorBudget, REFRESH_MS } from "../../src/server/descriptor-budget.ts";
import { replyForConnectError } from "../../src/server/index.ts";
import { EgressConnectError, EgressRegistry } from "../../src/egress/index.ts";
import { getRuntime, NetError, type Runtime } from "../../src/runtime/index.ts";
import { acceptErrorReason } from "../../src/server/server.ts";

test("budgetMargin: 2% of the limit, at least 32, at most 1024", () => {
  assert.equal(budgetMargin(200), 32);
  assert.equal(budgetMargin(20000), 400);
  assert.equal(budgetMargin(1048576), 1024);
});

test("DescriptorBudget: admits below limit - margin, re-reads near it, counts two per new session", () => {
  let now = 0;
  let reads = 0;
  let open = 100;
  const budget = new DescriptorBudget(() => (reads++, { open, limit: 200 }), () => now);
  assert.equal(budget.admit(0), true, "100 open of 200: far from the margin of 32");
  assert.equal(reads, 1);
  // 100 + 2 * 33 = 166 open: 34 free, still above the margin, no new reading within REFRESH_MS.
  assert.equal(budget.admit(33), true);
  assert.equal(reads, 1);
  // 100 + 2 * 34 = 168: 32 free, at the margin: refused (no fresh reading yet, none allowed).
  assert.equal(budget.admit(34), false);
  // Later, a fresh reading says sessions gave descriptors back: admitted again.
  now += REFRESH_MS;
  open = 120;
  assert.equal(budget.admit(34), true);
  assert.equal(reads, 2);
  assert.equal(budget.limit, 200);
});

test("DescriptorBudget: without a reading (not Linux) every connection is admitted", () => {
  const budget = new DescriptorBudget(() => undefined);
  for (let i = 0; i < 3; i++) assert.equal(budget.admit(1_000_000), true);
});

test("Runtime.descriptors reads this process's open descriptors and soft limit", () => {
  const usage = getRuntime().descriptors();
  assert.ok(usage !== undefined, "Linux has /proc/self/fd");
  assert.ok(usage.open > 2 && usage.open < usage.limit, JSON.stringify(usage));
});

test("accept error reasons: errno names to the proxy_accept_errors_total labels", () => {
  assert.equal(acceptErrorReason("EMFILE"), "emfile");
  assert.equal(acceptErrorReason("ENFILE"), "enfile");
  assert.equal(acceptErrorReason("ENOTCONN"), "enotconn");
  assert.equal(acceptErrorReason("ECONNABORTED"), "econnaborted");
  assert.equal(acceptErrorReason("ENOBUFS"), "other");
});

test("an outbound connect failing with EMFILE or ENFILE answers REP 0x01", () => {
  for (const code of ["EMFILE", "ENFILE"]) assert.equal(replyForConnectError(new NetError(code, code)), 0x01);
});

test("an egress source whose connect fails with EMFILE: class Local, not suspended, no failover", async () => {
  const real = getRuntime();
  let connects = 0;
  const runtime: Runtime = {
    ...real,
    connect: () => {
      connects++;
      return Promise.reject(new NetError("EMFILE", "Too many open files (os error 24)"));
    },
  };
  const registry = new EgressRegistry({
    sources: {
      a: {
        socks5_proxy_server: { host: "127.0.0.1", port: 1 },
        suspend_when_proxy_unhealthy: { trigger: "Immediate", duration: 60 },
      },
      b: {
        socks5_proxy_server: { host: "127.0.0.1", port: 2 },
        suspend_when_proxy_unhealthy: { trigger: "Immediate", duration: 60 },
      },
    },
    pools: { p: { entries: [{ name: "a" }, { name: "b" }] } },
  }, { runtime });
  const error = await registry.pool("p")!.connect({ host: "203.0.113.5", port: 25 }, { timeout: 5 }).then(
    () => assert.fail("the connect must fail"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof EgressConnectError, String(error));
  assert.equal(error.kind, "Local");
  assert.equal(replyForConnectError(error), 0x01);
  assert.equal(connects, 1, "no failover: every source would fail the same way");
  assert.equal(registry.status("a").suspended, false, "Immediate trigger, yet not suspended: not the proxy's fault");
  assert.equal(registry.status("b").suspended, false);
});
