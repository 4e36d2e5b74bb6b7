// Shared suspensions (issue 15): three proxy-server instances on one real
// redis-server. A manual suspension through A's admin API reaches B and C
// within a second (their tunnels avoid the source); clearing on C clears
// it on A and B; an instance started later loads the current set; an
// automatic suspension (suspend_when_proxy_unhealthy) of A is seen by B and
// C; with share_failure_windows, one failure on each instance trips a
// Threshold 3/5m rule.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { closedPort } from "../helpers/peers.ts";
import { type RedisPeer, startRedis } from "../helpers/redis.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { tunnel } from "../egress/helpers.ts";
import { clear, clusterKey, startInstances, status, suspend, within } from "./helpers.ts";

let redis: RedisPeer;
let echo: EchoTarget;
let nodes: RunningProxy[] = [];
let late: RunningProxy | undefined;

const config = (closed: number) => (name: string) => ({
  proxy_listeners: [
    { listen: "127.0.0.1:0", egress_pool: "p" },
    { listen: "127.0.0.1:0", egress_pool: "bad" },
    { listen: "127.0.0.1:0", egress_pool: "shared" },
  ],
  http_listeners: [{ listen: "127.0.0.1:0" }],
  sources: {
    a: { source_address: "127.0.0.2" },
    b: { source_address: "127.0.0.3" },
    down: {
      socks5_proxy_server: `127.0.0.1:${closed}`,
      suspend_when_proxy_unhealthy: { duration: "5m" },
    },
    flaky: {
      socks5_proxy_server: `127.0.0.1:${closed}`,
      suspend_when_proxy_unhealthy: { trigger: { Threshold: "3/5m" }, duration: "5m" },
      share_failure_windows: true,
    },
  },
  pools: {
    p: { entries: [{ name: "a" }, { name: "b" }] },
    bad: { entries: [{ name: "down" }] },
    shared: { entries: [{ name: "flaky" }] },
  },
  // Not the default 100 ms: a loaded test machine must not fall back to local state here.
  cluster: clusterKey(redis.url, name, { timeout: "500ms" }),
});

let closed: number;

before(async () => {
  redis = await startRedis();
  echo = await startEchoTarget();
  closed = await closedPort();
  nodes = await startInstances(["A", "B", "C"], config(closed));
  await Promise.all(nodes.map((n) => n.waitForLog(/cluster: connected to Redis/)));
});

after(async () => {
  await Promise.all([...nodes, ...(late ? [late] : [])].map((n) => n.stop()));
  await echo?.close();
  await redis?.close();
});

/** The source addresses the echo target saw for `n` tunnels through `node`'s pool p. */
async function peersThrough(node: RunningProxy, n: number): Promise<string[]> {
  const first = echo.peers.length;
  for (let i = 0; i < n; i++) assert.equal(await tunnel(node.ports[0], echo.port), 0, `tunnel ${i}`);
  return echo.peers.slice(first);
}

test("a manual suspension on A reaches B and C within a second; clearing on C clears it everywhere", async () => {
  const [a, b, c] = nodes;
  assert.deepEqual(new Set(await peersThrough(b, 4)), new Set(["127.0.0.2", "127.0.0.3"]));
  await suspend(a, "a", "10m", "maintenance");
  for (const node of [b, c]) {
    await within(1000, "the suspension reaches the instance", async () => (await status(node, "a")).suspended);
    const s = await status(node, "a");
    assert.equal(s.reason, "maintenance");
    assert.equal(s.cluster_wide, true);
    assert.equal(s.suspended_by, "A");
    assert.ok(s.remaining_seconds! > 590 && s.remaining_seconds! <= 600, String(s.remaining_seconds));
    assert.deepEqual(await peersThrough(node, 4), ["127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.3"]);
  }
  // An instance that starts now loads the current set.
  late = await startProxy(config(closed)("D"));
  await late.waitForLog(/cluster: connected to Redis/);
  await within(1000, "D loads the suspension", async () => (await status(late!, "a")).suspended);
  assert.equal((await status(late, "a")).suspended_by, "A");

  await clear(c, "a");
  for (const node of [a, b, late]) {
    await within(1000, "the clear reaches the instance", async () => !(await status(node, "a")).suspended);
  }
  assert.deepEqual(new Set(await peersThrough(a, 4)), new Set(["127.0.0.2", "127.0.0.3"]));
  assert.match(b.log(), /suspended by instance A for 600s \(maintenance\)/);
  assert.match(b.log(), /suspension cleared by instance C \(maintenance\)/);
});

test("an automatic suspension on A is seen by B and C", async () => {
  const [a, b, c] = nodes;
  assert.notEqual(await tunnel(a.ports[1], echo.port), 0);
  await within(1000, "A suspends its failing source", async () => (await status(a, "down")).suspended);
  for (const node of [b, c]) {
    await within(1000, "the suspension reaches the instance", async () => (await status(node, "down")).suspended);
    const s = await status(node, "down");
    assert.equal(s.reason, "ProxyUnhealthy");
    assert.equal(s.suspended_by, "A");
  }
});

test("share_failure_windows: one failure on each of three instances trips Threshold 3/5m", async () => {
  const [a, b, c] = nodes;
  for (const node of [a, b]) {
    assert.notEqual(await tunnel(node.ports[2], echo.port), 0);
  }
  // Two failures in the cluster: nobody suspends yet (each instance alone has one).
  for (const node of nodes) assert.equal((await status(node, "flaky")).suspended, false);
  assert.notEqual(await tunnel(c.ports[2], echo.port), 0);
  await within(1000, "C trips the shared threshold", async () => (await status(c, "flaky")).suspended);
  for (const node of [a, b]) {
    await within(1000, "the suspension reaches the instance", async () => (await status(node, "flaky")).suspended);
    assert.equal((await status(node, "flaky")).suspended_by, "C");
  }
});

test("a reload (SIGHUP) keeps the cluster's suspensions: the new sources load the current set", async () => {
  const [a, b] = nodes;
  await suspend(a, "b", "10m", "before-reload");
  await within(1000, "the suspension reaches B", async () => (await status(b, "b")).suspended);
  const reloads = (b.log().match(/configuration reloaded/g) ?? []).length;
  b.child.kill("SIGHUP");
  await within(
    10_000,
    "B reloads",
    () => Promise.resolve((b.log().match(/configuration reloaded/g) ?? []).length > reloads),
  );
  // The HTTP listeners are rebuilt by a reload: port 0 gives B a new one.
  b.httpPorts[0] = Number([...b.log().matchAll(/http listener on 127\.0\.0\.1:(\d+)/g)].at(-1)![1]);
  await within(1000, "B's new sources load the suspension", async () => (await status(b, "b")).suspended);
  assert.equal((await status(b, "b")).suspended_by, "A");
  await clear(a, "b");
  await within(1000, "the clear reaches B", async () => !(await status(b, "b")).suspended);
});
