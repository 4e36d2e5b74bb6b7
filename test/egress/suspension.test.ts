// Suspension as KumoMTA's source_health has it, with real connections on
// loopback: threshold and immediate triggers, the four transitions and their
// observer signals, expiry by timer without traffic, manual suspend/clear.
// Expiries and threshold windows run on a ManualClock (virtual time); the
// real-time expiry end to end is in proxy-pool.test.ts.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  EgressConnectError,
  EgressRegistry,
  InvalidSuspensionError,
  SourceStatusSchema,
  SourceSuspendedError,
  SourceSuspension,
  UnknownSourceError,
} from "../../src/egress/index.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { closedPort as findClosedPort } from "../helpers/peers.ts";
import { collectLogs, ManualClock, recorder, runtime } from "./helpers.ts";

let echo: EchoTarget;
let closedPort: number;
const logs = collectLogs();

before(async () => {
  echo = await startEchoTarget();
  closedPort = await findClosedPort();
});

after(async () => {
  await echo?.close();
});

async function roundTrip(conn: { write(b: Uint8Array): Promise<void>; read(): Promise<Uint8Array | null> }) {
  await conn.write(new TextEncoder().encode("ping"));
  assert.equal(new TextDecoder().decode((await conn.read())!), "ping");
}

test('Threshold "3/5m", duration 2s: two failures do not suspend, the third does; traffic fails over; it clears by itself', async () => {
  const observer = recorder();
  const clock = new ManualClock();
  const registry = new EgressRegistry({
    sources: {
      bad: {
        socks5_proxy_server: { host: "127.0.0.1", port: closedPort },
        suspend_when_proxy_unhealthy: { trigger: { limit: 3, period: 300 }, duration: 2 },
      },
      good: {},
    },
    pools: { p: { entries: [{ name: "bad" }, { name: "good" }] } },
  }, { runtime, observer, clock });
  const bad = registry.source("bad");
  const dest = { host: "127.0.0.1", port: echo.port };
  for (let i = 1; i <= 3; i++) {
    await assert.rejects(bad.connect(dest), (error: unknown) => {
      assert.ok(error instanceof EgressConnectError);
      assert.equal(error.kind, "ProxyUnhealthy");
      return true;
    });
    assert.equal(observer.count("connectionFailed", "bad", "ProxyUnhealthy"), i);
    assert.equal(observer.count("suspended", "bad"), i < 3 ? 0 : 1, `after failure ${i}`);
  }
  assert.equal(observer.count("suspended", "bad", "ProxyUnhealthy"), 1, "counter + 1, gauge 1");
  assert.equal(observer.lastHealth("bad"), false);
  const status = registry.status("bad");
  assert.equal(status.suspended, true);
  assert.equal(status.reason, "ProxyUnhealthy");
  assert.equal(status.failures_in_window, 3);
  assert.equal(status.window_seconds, 300);
  assert.equal(status.remaining_seconds, 2, "virtual time has not moved");
  await assert.rejects(bad.connect(dest), SourceSuspendedError);
  assert.equal(observer.count("connectionFailed", "bad"), 3, "a suspended source fails fast, uncounted");

  const pool = registry.pool("p")!;
  for (let i = 0; i < 10; i++) {
    const conn = await pool.connect(dest, { timeout: 5 });
    await roundTrip(conn);
    conn.close();
  }
  assert.equal(observer.count("connectionOpened", "good"), 10, "every tunnel went through the healthy source");
  assert.equal(observer.count("connectionFailed", "bad"), 3);

  clock.advance(1999);
  assert.equal(observer.count("unsuspended", "bad"), 0, "1 ms before the end it is still suspended");
  assert.equal(registry.status("bad").remaining_seconds, 0.001);
  clock.advance(1);
  assert.equal(observer.count("unsuspended", "bad", "ProxyUnhealthy"), 1, "the timer cleared it, no traffic needed");
  assert.equal(observer.lastHealth("bad"), true);
  assert.match(logs.text(), /WARN.*egress source bad auto-suspended for 2s \(ProxyUnhealthy\)/);
  assert.match(logs.text(), /INFO.*egress source bad auto-suspension cleared \(ProxyUnhealthy\)/);
  assert.equal(registry.status("bad").suspended, false);
  await registry.stop();
});

test("Immediate: the first failure suspends; with failover the pool still connects", async () => {
  const observer = recorder();
  const registry = new EgressRegistry({
    sources: {
      bad: {
        socks5_proxy_server: { host: "127.0.0.1", port: closedPort },
        suspend_when_proxy_unhealthy: { trigger: "Immediate", duration: 60 },
      },
      good: {},
    },
    pools: { p: { entries: [{ name: "good" }, { name: "bad" }] } },
  }, { runtime, observer });
  const pool = registry.pool("p")!;
  for (let i = 0; i < 4; i++) (await pool.connect({ host: "127.0.0.1", port: echo.port })).close();
  assert.equal(observer.count("connectionFailed", "bad"), 1);
  assert.equal(observer.count("suspended", "bad", "ProxyUnhealthy"), 1);
  assert.equal(observer.count("connectionOpened", "good"), 4);
  await registry.stop();
});

test("source_address 192.0.2.1 (not on this host) with suspend_when_unplumbed: reason Unplumbed", async () => {
  const observer = recorder();
  const registry = new EgressRegistry({
    sources: {
      unplumbed: { source_address: "192.0.2.1", suspend_when_unplumbed: { trigger: "Immediate", duration: 60 } },
    },
    pools: {},
  }, { runtime, observer });
  await assert.rejects(
    registry.source("unplumbed").connect({ host: "127.0.0.1", port: echo.port }),
    (error: unknown) => {
      assert.ok(error instanceof EgressConnectError);
      assert.equal(error.kind, "Unplumbed");
      return true;
    },
  );
  assert.equal(observer.count("connectionFailed", "unplumbed", "Unplumbed"), 1);
  assert.equal(observer.count("suspended", "unplumbed", "Unplumbed"), 1);
  assert.equal(registry.status("unplumbed").reason, "Unplumbed");
  await registry.stop();
});

test("a direct connect refused by the destination is not a source failure", async () => {
  const observer = recorder();
  const registry = new EgressRegistry({ sources: { d: {} }, pools: {} }, { runtime, observer });
  await assert.rejects(registry.source("d").connect({ host: "127.0.0.1", port: closedPort }), (error: unknown) => {
    assert.ok(error instanceof EgressConnectError);
    assert.deepEqual([error.kind, error.code], ["Destination", "ECONNREFUSED"]);
    return true;
  });
  assert.equal(observer.count("connectionFailed", "d"), 0);
  await registry.stop();
});

test("transitions: same reason extends silently, another reason swaps the gauge, expiry clears", async () => {
  const observer = recorder();
  const clock = new ManualClock();
  const registry = new EgressRegistry({ sources: { s: {} }, pools: {} }, { runtime, observer, clock });
  registry.suspend("s", 30, "Maintenance");
  assert.deepEqual(observer.calls.filter((c) => c[0] === "suspended" || c[0] === "unsuspended"), [
    ["suspended", "s", "Maintenance"],
  ]);
  registry.suspend("s", 60, "Maintenance");
  assert.equal(observer.count("suspended", "s"), 1, "an extension changes no metric");
  assert.match(logs.text(), /DEBUG.*egress source s suspension extended \(Maintenance\)/);
  assert.ok(registry.status("s").remaining_seconds! > 30, "the expiry moved later");
  registry.suspend("s", 0.2, "Other");
  assert.deepEqual(observer.calls.filter((c) => c[0] === "suspended" || c[0] === "unsuspended").slice(1), [
    ["unsuspended", "s", "Maintenance"],
    ["suspended", "s", "Other"],
  ]);
  clock.advance(199);
  assert.equal(observer.count("unsuspended", "s", "Other"), 0);
  clock.advance(1);
  assert.equal(observer.count("unsuspended", "s", "Other"), 1, "expiry without traffic");
  assert.equal(clock.pending, 0, "no timer left behind");
  await registry.stop();
});

test("manual suspend and clear act on selection; unknown names and bad input are typed errors", async () => {
  const observer = recorder();
  const registry = new EgressRegistry({
    sources: { a: {}, b: {} },
    pools: { p: { entries: [{ name: "a" }, { name: "b" }] } },
  }, { runtime, observer });
  const pool = registry.pool("p")!;
  const status = registry.suspend("a", 120, "Admin");
  assert.deepEqual(
    [status.suspended, status.reason, status.healthy, status.kind],
    [true, "Admin", false, "direct"],
  );
  assert.deepEqual(new Set(Array.from({ length: 6 }, () => pool.select().name)), new Set(["b"]));
  const cleared = registry.clear("a");
  assert.equal(cleared.suspended, false);
  assert.equal(observer.count("unsuspended", "a", "Admin"), 1);
  assert.deepEqual(new Set(Array.from({ length: 6 }, () => pool.select().name)), new Set(["a", "b"]));
  assert.throws(() => registry.suspend("nope", 10), UnknownSourceError);
  assert.throws(() => registry.clear("nope"), UnknownSourceError);
  assert.throws(() => registry.status("nope"), UnknownSourceError);
  assert.throws(() => registry.suspend("a", 0), InvalidSuspensionError);
  assert.throws(() => registry.suspend("a", 10, "bad reason with spaces"), InvalidSuspensionError);
  assert.deepEqual(registry.list().map((s) => s.name), ["a", "b"]);
  registry.suspend("b", 60);
  for (const status of registry.list()) {
    assert.deepEqual(v.parse(SourceStatusSchema, status), status, "the state matches the admin API's schema");
  }
  await registry.stop();
});

test("connections opened and closed per source; the health gauge starts at 1", async () => {
  const observer = recorder();
  const registry = new EgressRegistry({ sources: { s: {} }, pools: {} }, { runtime, observer });
  assert.deepEqual(observer.calls, [["healthChanged", "s", true]]);
  const conn = await registry.source("s").connect({ host: "127.0.0.1", port: echo.port });
  assert.equal(registry.status("s").active_connections, 1);
  await roundTrip(conn);
  conn.close();
  conn.close();
  assert.equal(registry.status("s").active_connections, 0);
  assert.deepEqual([observer.count("connectionOpened", "s"), observer.count("connectionClosed", "s")], [1, 1]);
  await registry.stop();
});

test('Threshold "3/5m": failures count while inside the rolling 5 minutes and drop out after', () => {
  const rule = { trigger: { limit: 3, period: 300 }, duration: 60 };
  const clock = new ManualClock();
  const observer = recorder();
  const inside = new SourceSuspension("inside", { observer, clock, rules: { ProxyUnhealthy: rule } });
  const outside = new SourceSuspension("outside", { observer, clock, rules: { ProxyUnhealthy: rule } });
  for (const state of [inside, outside]) {
    assert.equal(state.recordFailure("ProxyUnhealthy"), false);
    assert.equal(state.recordFailure("ProxyUnhealthy"), false);
  }
  clock.advance(299_999);
  assert.deepEqual(inside.failuresInWindow(), { count: 2, windowSeconds: 300 });
  assert.equal(
    inside.recordFailure("ProxyUnhealthy"),
    true,
    "the third failure 1 ms before the first two leave the window",
  );
  assert.equal(inside.current()?.reason, "ProxyUnhealthy");
  clock.advance(1);
  assert.deepEqual(outside.failuresInWindow(), { count: 0, windowSeconds: 300 }, "5 minutes on, the first two are out");
  assert.equal(outside.recordFailure("ProxyUnhealthy"), false);
  assert.equal(outside.recordFailure("ProxyUnhealthy"), false);
  assert.equal(outside.recordFailure("ProxyUnhealthy"), true, "three new ones inside the window fire");
  assert.deepEqual([observer.count("suspended", "inside"), observer.count("suspended", "outside")], [1, 1]);
  assert.equal(observer.count("connectionFailed", "outside", "ProxyUnhealthy"), 5, "every failure is counted");
  inside.dispose();
  outside.dispose();
});

test("a suspension longer than the longest timer delay re-arms on the way and ends on time", () => {
  const clock = new ManualClock();
  const observer = recorder();
  const state = new SourceSuspension("s", { observer, clock });
  const thirtyDays = 30 * 86_400;
  state.suspend("Maintenance", thirtyDays, "admin");
  clock.advance(2 ** 31 - 1);
  assert.equal(state.current()?.reason, "Maintenance", "the first timer fired early and re-armed");
  assert.equal(clock.pending, 1);
  clock.advance(thirtyDays * 1000 - (2 ** 31 - 1) - 1);
  assert.equal(observer.count("unsuspended", "s"), 0);
  clock.advance(1);
  assert.equal(observer.count("unsuspended", "s", "Maintenance"), 1);
  assert.deepEqual([state.current(), state.healthy, clock.pending], [undefined, true, 0]);
});
