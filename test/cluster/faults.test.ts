// Redis stopped mid-test (issue 15): open tunnels carry their bytes to the
// end (checksum), new tunnels work on local state, proxy_cluster_backend_up
// reads 0 and the WARN appears once; with Redis back the gauge returns to
// 1 and a suspension made while it was down reaches the other instance.
// Redis frozen (SIGSTOP): every call misses its cluster.timeout deadline,
// tunnels still open at once on local state. An instance started while
// Redis is down serves on local state and joins once Redis is up.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";
import { sample } from "../helpers/prometheus.ts";
import { type RedisPeer, startRedis } from "../helpers/redis.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { openTunnel, tunnel } from "../egress/helpers.ts";
import { clusterKey, startInstances, status, suspend, within } from "./helpers.ts";

let redis: RedisPeer;
let echo: EchoTarget;
let nodes: RunningProxy[] = [];

before(async () => {
  redis = await startRedis();
  echo = await startEchoTarget();
  nodes = await startInstances(["A", "B"], (name) => ({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "p" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    users: [{ username: "bob", password: "pw", max_connections: 3 }],
    sources: { a: { source_address: "127.0.0.2" }, b: { source_address: "127.0.0.3" } },
    pools: { p: { entries: [{ name: "a" }, { name: "b" }] } },
    // 300 ms rather than the default 100 ms, so a loaded test machine does not
    // fall back before Redis is stopped (that would be a second WARN).
    cluster: clusterKey(redis.url, name, { timeout: "300ms" }),
  }));
  await Promise.all(nodes.map((n) => n.waitForLog(/cluster: connected to Redis/)));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await echo?.close();
  await redis?.close();
});

/** `proxy_cluster_backend_up` of an instance. */
async function backendUp(node: RunningProxy): Promise<number | undefined> {
  const r = await httpRequest(`http://127.0.0.1:${node.httpPorts[0]}/metrics`);
  return sample(r.body, "proxy_cluster_backend_up", {});
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test("Redis down: tunnels keep going, local state applies, one WARN; back: gauge 1, suspension shared", async () => {
  const [a, b] = nodes;
  assert.equal(await backendUp(a), 1);
  const data = new Uint8Array(randomBytes(1 << 20));
  const { rep, client } = await openTunnel(a.ports[0], echo.port, { user: "bob" });
  assert.equal(rep, 0);
  const half = data.length / 2;
  client.send(data.subarray(0, half));
  const first = await client.read(half, 10_000);

  await redis.stop();
  await a.waitForLog(/cluster: Redis unreachable/);
  client.send(data.subarray(half));
  const second = await client.read(data.length - half, 10_000);
  const echoed = new Uint8Array(data.length);
  echoed.set(first);
  echoed.set(second, half);
  assert.equal(sha(echoed), sha(data), "the open tunnel carried every byte");
  client.close();

  assert.equal(await backendUp(a), 0);
  // New tunnels work on local state (the user's limit is per instance now).
  for (let i = 0; i < 5; i++) assert.equal(await tunnel(a.ports[0], echo.port, { user: "bob" }), 0, `tunnel ${i}`);
  await suspend(a, "a", "10m", "while-down");
  for (let i = 0; i < 3; i++) assert.equal(await tunnel(a.ports[0], echo.port), 0);
  assert.equal((a.log().match(/cluster: Redis unreachable/g) ?? []).length, 1, "one WARN");
  assert.equal((await status(b, "a")).suspended, false);

  await redis.restart();
  await within(10_000, "A sees Redis again", async () => (await backendUp(a)) === 1);
  await within(10_000, "B sees Redis again", async () => (await backendUp(b)) === 1);
  await within(3000, "the suspension made while down reaches B", async () => (await status(b, "a")).suspended)
    .catch((e) => {
      const tail = (p: RunningProxy) =>
        p.log().split("\n").filter((l) => /cluster|egress/.test(l)).slice(-12).join("\n");
      throw new Error(`${e.message}\nA:\n${tail(a)}\nB:\n${tail(b)}`);
    });
  const s = await status(b, "a");
  assert.equal(s.reason, "while-down");
  assert.equal(s.suspended_by, "A");
  assert.equal((a.log().match(/cluster: Redis unreachable/g) ?? []).length, 1, "still one WARN");
  assert.match(a.log(), /Redis reachable again/);
});

test("Redis frozen: calls miss the deadline, tunnels open on local state; thawed: back to 1", async () => {
  const [a] = nodes;
  await within(10_000, "A is up", async () => (await backendUp(a)) === 1);
  const warnings = (a.log().match(/cluster: Redis unreachable/g) ?? []).length;
  redis.pause();
  try {
    const start = Date.now();
    assert.equal(await tunnel(a.ports[0], echo.port, { user: "bob" }), 0);
    const first = Date.now() - start;
    assert.ok(first < 1000, `the first tunnel took ${first} ms`);
    assert.equal(await backendUp(a), 0);
    const t = Date.now();
    for (let i = 0; i < 3; i++) assert.equal(await tunnel(a.ports[0], echo.port, { user: "bob" }), 0);
    assert.ok(Date.now() - t < 1000, "no deadline paid while down");
    assert.equal((a.log().match(/cluster: Redis unreachable/g) ?? []).length, warnings + 1, "one WARN");
    const text = (await httpRequest(`http://127.0.0.1:${a.httpPorts[0]}/metrics`)).body;
    const count = (op: string, result: string) => sample(text, "proxy_cluster_operations_total", { op, result }) ?? 0;
    // The first call (the lease of the first tunnel, or a renewal) missed its
    // deadline; every later lease call was not tried.
    assert.ok(count("lease_acquire", "timeout") + count("lease_renew", "timeout") >= 1);
    assert.ok(count("lease_acquire", "timeout") + count("lease_acquire", "down") >= 4);
    assert.ok((sample(text, "proxy_cluster_operation_duration_seconds_count", { op: "lease_acquire" }) ?? 0) >= 1);
  } finally {
    redis.resume();
  }
  await within(5000, "A sees Redis again", async () => (await backendUp(a)) === 1);
});

test("an instance started while Redis is down serves on local state, then joins and loads the current set", async () => {
  const [a] = nodes;
  await within(10_000, "A is up", async () => (await backendUp(a)) === 1);
  await suspend(a, "b", "10m", "before-start");
  await redis.stop();
  await a.waitForLog(/cluster: Redis unreachable[^]*cluster: Redis unreachable/);
  const late = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "p" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    sources: { a: { source_address: "127.0.0.2" }, b: { source_address: "127.0.0.3" } },
    pools: { p: { entries: [{ name: "a" }, { name: "b" }] } },
    cluster: clusterKey(redis.url, "late", { timeout: "300ms" }),
  });
  try {
    await late.waitForLog(/cluster: Redis unreachable/);
    assert.equal(await backendUp(late), 0);
    assert.equal(await tunnel(late.ports[0], echo.port), 0, "serves on local state");
    await redis.restart();
    await within(10_000, "the late instance connects", async () => (await backendUp(late)) === 1);
    // Redis restarted empty: A republishes what it holds, the late instance loads or receives it.
    await within(3000, "the late instance has A's suspension", async () => (await status(late, "b")).suspended)
      .catch((e) => {
        throw new Error(`${e.message}\nA:\n${a.log().split("\n").slice(-15).join("\n")}\nlate:\n${late.log()}`);
      });
    assert.equal((await status(late, "b")).suspended_by, "A");
  } finally {
    await late.stop();
  }
});

test("without cluster no proxy_cluster_backend_up series says the backend is down", async () => {
  const plain = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
  });
  try {
    const r = await httpRequest(`http://127.0.0.1:${plain.httpPorts[0]}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.body, /^proxy_build_info\{/m, "a real scrape");
    assert.doesNotMatch(r.body, /^proxy_cluster_backend_up/m);
    assert.equal(await backendUp(nodes[0]), 1, "an instance with cluster still exposes it");
  } finally {
    await plain.stop();
  }
});
