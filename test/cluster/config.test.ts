// The cluster key (issue 15) as loaded: defaults, durations in seconds, the
// password resolved as a secret, and the problems of a bad key at its path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/index.ts";
import { fakeIo, problemsOfValue } from "../config/helpers.ts";

const base = { proxy_listeners: [{ listen: "127.0.0.1:1080" }] };

test("cluster: defaults, durations in seconds, password from the environment", async () => {
  const config = await parseConfig(
    { ...base, cluster: { redis: { url: "redis://10.0.0.5:6379/2", password: { env: "REDIS_PW" } } } },
    "p.json",
    fakeIo({}, { REDIS_PW: "s3cret" }),
  );
  assert.deepEqual(config.cluster, {
    redis: { url: "redis://10.0.0.5:6379/2", password: "s3cret" },
    key_prefix: "proxy-server:",
    timeout: 0.1,
    lease_time: 30,
  }, "no instance: HOSTNAME:PID is filled in at start");
  const without = await parseConfig(base, "p.json", fakeIo());
  assert.equal(without.cluster, undefined);
});

test("cluster: sentinels and cluster_nodes are accepted; reuse_port and share_failure_windows load", async () => {
  const config = await parseConfig(
    {
      proxy_listeners: [{ listen: "127.0.0.1:1080", reuse_port: true }],
      sources: { s: { source_address: "127.0.0.2", share_failure_windows: true } },
      cluster: { redis: { sentinels: ["10.0.0.6:26379", "[::1]:26379"], sentinel_name: "egress" }, instance: "mx1-2" },
    },
    "p.json",
    fakeIo(),
  );
  assert.deepEqual(config.cluster?.redis.sentinels?.map(({ host, port }) => ({ host, port })), [
    { host: "10.0.0.6", port: 26379 },
    { host: "::1", port: 26379 },
  ]);
  assert.equal(config.proxy_listeners[0].reuse_port, true);
  assert.equal(config.sources.s.share_failure_windows, true);
  await parseConfig({ ...base, cluster: { redis: { cluster_nodes: ["127.0.0.1:7000"] } } }, "p.json", fakeIo());
});

test("cluster: bad keys are reported at their path", async () => {
  const cases: [unknown, string, RegExp][] = [
    [{ redis: { url: "http://x:6379" } }, "$.cluster.redis.url", /expected a "redis:\/\/host:port\[\/db\]"/],
    [{ redis: {} }, "$.cluster.redis", /exactly one of "url", "sentinels" or "cluster_nodes"/],
    [{ redis: { url: "redis://a:1", cluster_nodes: ["a:1"] } }, "$.cluster.redis", /exactly one of/],
    [{ redis: { sentinels: ["nohost"] } }, "$.cluster.redis.sentinels[0]", /expected "HOST:PORT"/],
    [{ redis: { cluster_nodes: ["10.0.0.6:99999"] } }, "$.cluster.redis.cluster_nodes[0]", /expected "HOST:PORT"/],
    [{ redis: { url: "redis://a:1" }, instance: "a b" }, "$.cluster.instance", /expected 1 to 128/],
    [{ redis: { url: "redis://a:1" }, timeout: "soon" }, "$.cluster.timeout", /./],
    [{ redis: { url: "redis://a:1" }, ttl: 1 }, "$.cluster.ttl", /unknown key "ttl"/],
  ];
  for (const [cluster, path, message] of cases) {
    const problems = await problemsOfValue({ ...base, cluster });
    const p = problems.find((x) => x.path === path);
    assert.ok(p, `${JSON.stringify(cluster)}: a problem at ${path}, got ${JSON.stringify(problems)}`);
    assert.match(p.message, message);
  }
});
