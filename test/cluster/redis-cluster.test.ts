// The suspension test against a three-node Redis Cluster (issue 15):
// Debian's redis-server started three times with cluster-enabled on
// loopback and joined by CLUSTER ADDSLOTSRANGE / CLUSTER MEET; the
// instances reach it through cluster_nodes (ioredis' Cluster client). A
// manual suspension on A reaches B and C within a second; clearing on C
// clears it on A and B.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { RunningProxy } from "../helpers/proxy-process.ts";
import { type RedisPeer, startRedisCluster } from "../helpers/redis.ts";
import { clear, startInstances, status, suspend, within } from "./helpers.ts";

let redis: RedisPeer[] = [];
let nodes: RunningProxy[] = [];

before(async () => {
  redis = await startRedisCluster();
  nodes = await startInstances(["A", "B", "C"], (name) => ({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "p" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    sources: { a: { source_address: "127.0.0.2" }, b: { source_address: "127.0.0.3" } },
    pools: { p: { entries: [{ name: "a" }, { name: "b" }] } },
    cluster: {
      redis: { cluster_nodes: redis.map((r) => `127.0.0.1:${r.port}`) },
      key_prefix: "test:",
      instance: name,
      // A cluster client's first commands also discover the slots.
      timeout: "500ms",
    },
  }));
  await Promise.all(nodes.map((n) => n.waitForLog(/cluster: connected to Redis/)));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(redis.map((r) => r.close()));
});

test("Redis Cluster: a suspension on A reaches B and C within a second; a clear on C clears A and B", async () => {
  const [a, b, c] = nodes;
  await suspend(a, "a", "10m", "maintenance");
  for (const node of [b, c]) {
    await within(1000, "the suspension reaches the instance", async () => (await status(node, "a")).suspended);
    assert.equal((await status(node, "a")).suspended_by, "A");
  }
  await clear(c, "a");
  for (const node of [a, b]) {
    await within(1000, "the clear reaches the instance", async () => !(await status(node, "a")).suspended);
  }
});
