// Cluster-wide limits (issue 15), three proxy-server instances on one real
// redis-server: users[].max_connections 5 with 30 parallel tunnels spread
// over the instances opens exactly 5; closing one lets exactly one more
// in; SIGKILL of an instance frees its leases within the lease time. A
// cluster-wide connection_rate "10/1s": 30 attempts across the instances
// give 10 accepted (plus what the bucket refills while they are sent).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { RunningProxy } from "../helpers/proxy-process.ts";
import { type RawClient, rawConnect } from "../helpers/raw-client.ts";
import { type RedisPeer, startRedis } from "../helpers/redis.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { openTunnel } from "../egress/helpers.ts";
import { clusterKey, startInstances, within } from "./helpers.ts";

const LEASE_SECONDS = 2;

let redis: RedisPeer;
let echo: EchoTarget;
let nodes: RunningProxy[] = [];

before(async () => {
  redis = await startRedis();
  echo = await startEchoTarget();
  nodes = await startInstances(["A", "B", "C"], (name) => ({
    proxy_listeners: [
      { listen: "127.0.0.1:0" },
      // Another address: port-0 listeners written alike share the first one's settings.
      { listen: "127.0.0.5:0", connection_rate: "10/1s" },
      { listen: "127.0.0.6:0", max_connections: 4, max_connections_per_client: 3 },
    ],
    users: [{ username: "bob", password: "pw", max_connections: 5 }],
    // A generous deadline: on a loaded machine a call past the default 100 ms
    // would (rightly) fall back to per-instance limits; exactness is the point here.
    cluster: clusterKey(redis.url, name, { lease_time: `${LEASE_SECONDS}s`, timeout: "2s" }),
  }));
  await Promise.all(nodes.map((n) => n.waitForLog(/cluster: connected to Redis/)));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await echo?.close();
  await redis?.close();
});

/** Open a tunnel as bob through `node`; resolves with the open client, or undefined when refused. */
async function open(node: RunningProxy): Promise<RawClient | undefined> {
  const { rep, client } = await openTunnel(node.ports[0], echo.port, { user: "bob" });
  if (rep === 0) return client;
  assert.equal(rep, 2, "refused with REP 0x02");
  client.close();
  return undefined;
}

/** `n` parallel opens spread round-robin over `over`; the clients that got in, with their instance. */
async function openMany(n: number, over: RunningProxy[]): Promise<{ node: RunningProxy; client: RawClient }[]> {
  const got = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const node = over[i % over.length];
      const client = await open(node);
      return client === undefined ? undefined : { node, client };
    }),
  );
  return got.filter((g) => g !== undefined);
}

/** How many instances fell back to local state (for failure messages). */
const fallbacks = () =>
  `${nodes.filter((n) => /cluster: Redis unreachable/.test(n.log())).length} instance(s) fell back to local state`;

const leases = async () => Number(/:(\d+)/.exec(await redis.command("ZCARD", "test:lease:{user bob}:user bob"))![1]);

test("connection_rate 10/1s is cluster-wide: 30 attempts across the instances, 10 accepted", async () => {
  const start = Date.now();
  const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
    const c = await rawConnect(nodes[i % nodes.length].ports[1], "127.0.0.5");
    c.send([5, 1, 0]);
    const ok = await c.read(2, 3000).then((r) => r[0] === 5 && r[1] === 0, () => false);
    c.close();
    return ok;
  }));
  const spreadMs = Date.now() - start;
  const accepted = results.filter(Boolean).length;
  // The bucket refills one per 100 ms while the attempts are made.
  assert.ok(accepted >= 10 && accepted <= 10 + Math.floor(spreadMs / 100), `${accepted} accepted in ${spreadMs} ms`);
  assert.ok(spreadMs < 1000, `the attempts took ${spreadMs} ms`);
});

test("users[].max_connections 5 holds across three instances, frees on close and on SIGKILL", async () => {
  const held = await openMany(30, nodes);
  assert.equal(held.length, 5, `exactly 5 of 30 parallel tunnels open, got ${held.length}; ${fallbacks()}`);
  assert.equal(await leases(), 5);

  // Closing one lets exactly one more in.
  held.pop()!.client.close();
  await within(2000, "the lease is given back", async () => (await leases()) === 4);
  const more = await openMany(10, nodes);
  assert.equal(more.length, 1, "exactly one more");
  held.push(...more);

  // SIGKILL an instance that holds leases: they are pruned within the lease time.
  const counts = new Map<RunningProxy, number>();
  for (const h of held) counts.set(h.node, (counts.get(h.node) ?? 0) + 1);
  const [victim, lost] = [...counts].sort((x, y) => y[1] - x[1])[0];
  const survivors = nodes.filter((n) => n !== victim);
  await victim.stop("SIGKILL");
  const killedAt = Date.now();
  const regained: RawClient[] = [];
  const waited = await within(LEASE_SECONDS * 1000 + 1500, "the dead instance's leases are pruned", async () => {
    const c = await open(survivors[regained.length % survivors.length]);
    if (c !== undefined) regained.push(c);
    return regained.length === lost;
  });
  assert.ok(Date.now() - killedAt <= LEASE_SECONDS * 1000 + 1500, `${waited} ms`);
  assert.equal(await open(survivors[0]), undefined, "still never more than 5");
  for (const h of held) if (h.node !== victim) h.client.close();
  for (const c of regained) c.close();
  nodes = survivors;
});

test("max_connections and max_connections_per_client are cluster-wide: 30 parallel clients, 3 in", async () => {
  const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
    const c = await rawConnect(nodes[i % nodes.length].ports[2], "127.0.0.6");
    c.send([5, 1, 0]);
    const ok = await c.read(2, 3000).then((r) => r[0] === 5 && r[1] === 0, () => false);
    return { ok, c };
  }));
  const inside = results.filter((r) => r.ok).length;
  assert.equal(inside, 3, `the per-client limit of 3, across the instances: ${inside}; ${fallbacks()}`);
  for (const r of results) r.c.close();
});
