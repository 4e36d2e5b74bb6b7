// The compiled policy: allow lists, limits (exact, idempotent releases, kept
// across a reload), rates, per-user source addresses, open-proxy listeners.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AccessConfig,
  type Admission,
  compileAccessPolicy,
  createMemoryAccessStore,
  DENIAL_REASONS,
  type Lease,
  type MemoryConnectionCounts,
  MemoryRateLimiter,
  openProxyListeners,
  parseIp,
} from "../../src/access/index.ts";

const L = "0.0.0.0:1080";

function config(
  listener: Partial<AccessConfig["proxy_listeners"][number]> = {},
  rest: Partial<AccessConfig> = {},
): AccessConfig {
  return { proxy_listeners: [{ listen: { text: L, host: "0.0.0.0" }, ...listener }], ...rest };
}

function lease(a: Admission): Lease {
  assert.ok(a.ok, `expected a lease, got ${JSON.stringify(a)}`);
  return a;
}

function reason(a: Admission): string {
  assert.ok(!a.ok, "expected a denial, got a lease");
  return a.reason;
}

test("the denial reasons are the metric's label values", () => {
  assert.deepEqual([...DENIAL_REASONS], [
    "client",
    "rule",
    "source_address",
    "listener_limit",
    "client_limit",
    "user_limit",
    "rate",
  ]);
});

test("allowed_clients: absent admits everyone; present admits IPv4, IPv6 and IPv4-mapped peers inside it", () => {
  assert.ok(compileAccessPolicy(config()).admit(L, "198.51.100.1", 0).ok);
  const policy = compileAccessPolicy(config({ allowed_clients: ["10.0.0.0/8", "2001:db8::/32"] }));
  for (const yes of ["10.1.2.3", "::ffff:10.1.2.3", "2001:db8::1"]) lease(policy.admit(L, yes, 0)).release();
  lease(policy.admit(L, parseIp("10.9.9.9")!, 0)).release();
  for (const no of ["11.1.2.3", "::ffff:11.1.2.3", "2001:db9::1", "not an ip"]) {
    assert.equal(reason(policy.admit(L, no, 0)), "client", no);
  }
});

test("a listener the policy does not know is refused", () => {
  assert.equal(reason(compileAccessPolicy(config()).admit("127.0.0.1:9", "10.0.0.1", 0)), "client");
});

test("max_connections: 5 of 5 admitted, the 6th refused, a release lets one in", () => {
  const policy = compileAccessPolicy(config({ max_connections: 5 }));
  const leases = Array.from({ length: 5 }, (_, i) => lease(policy.admit(L, `10.0.0.${i + 1}`, 0)));
  assert.equal(reason(policy.admit(L, "10.0.0.9", 0)), "listener_limit");
  leases[0].release();
  leases.push(lease(policy.admit(L, "10.0.0.9", 0)));
  assert.equal(reason(policy.admit(L, "10.0.0.10", 0)), "listener_limit");
});

test("a double release decrements once", () => {
  const policy = compileAccessPolicy(config({ max_connections: 2 }));
  const a = lease(policy.admit(L, "10.0.0.1", 0));
  lease(policy.admit(L, "10.0.0.2", 0));
  a.release();
  a.release();
  assert.equal(policy.store.counts.count(`listener ${L}`), 1);
  lease(policy.admit(L, "10.0.0.3", 0));
  assert.equal(reason(policy.admit(L, "10.0.0.4", 0)), "listener_limit");
});

test("max_connections_per_client counts per client IP (IPv4-mapped as IPv4) and gives back the listener slot it took", () => {
  const policy = compileAccessPolicy(config({ max_connections_per_client: 2, max_connections: 3 }));
  const a = lease(policy.admit(L, "10.0.0.1", 0));
  lease(policy.admit(L, "::ffff:10.0.0.1", 0));
  assert.equal(reason(policy.admit(L, "10.0.0.1", 0)), "client_limit");
  assert.equal(policy.store.counts.count(`listener ${L}`), 2, "the refused one did not keep a listener slot");
  lease(policy.admit(L, "10.0.0.2", 0));
  assert.equal(reason(policy.admit(L, "10.0.0.3", 0)), "listener_limit");
  a.release();
  lease(policy.admit(L, "10.0.0.1", 0));
});

test("counters are deleted at zero, so keys do not pile up", () => {
  const store = createMemoryAccessStore();
  const policy = compileAccessPolicy(config({ max_connections_per_client: 1 }), store);
  const leases = Array.from({ length: 100 }, (_, i) => lease(policy.admit(L, `10.0.${i}.1`, 0)));
  const counts = store.counts as MemoryConnectionCounts;
  assert.equal(counts.size, 101);
  for (const l of leases) l.release();
  assert.equal(counts.size, 0);
});

test("a reload over the same store keeps live counts; old leases release into the new counters", () => {
  const first = compileAccessPolicy(config({ max_connections: 5 }));
  const old = Array.from({ length: 4 }, (_, i) => lease(first.admit(L, `10.0.0.${i}`, 0)));
  const second = compileAccessPolicy(config({ max_connections: 3 }), first.store);
  assert.equal(reason(second.admit(L, "10.0.1.1", 0)), "listener_limit");
  old[0].release();
  assert.equal(reason(second.admit(L, "10.0.1.1", 0)), "listener_limit", "3 still open");
  old[1].release();
  lease(second.admit(L, "10.0.1.1", 0));
  assert.equal(reason(second.admit(L, "10.0.1.2", 0)), "listener_limit");
  old[1].release(); // again: no effect
  assert.equal(second.store.counts.count(`listener ${L}`), 3);
});

test('connection_rate "10/1s": 10 accepted, the 11th refused at the same instant, accepted again a second later', () => {
  const policy = compileAccessPolicy(config({ connection_rate: { limit: 10, period: 1 } }));
  const t = 1_700_000_000_000;
  for (let i = 0; i < 10; i++) lease(policy.admit(L, "10.0.0.1", t)).release();
  assert.equal(reason(policy.admit(L, "10.0.0.1", t)), "rate");
  assert.equal(reason(policy.admit(L, "10.0.0.1", t + 50)), "rate");
  lease(policy.admit(L, "10.0.0.2", t)).release(); // per client
  lease(policy.admit(L, "10.0.0.1", t + 100)); // one token back after 1/10 s
  assert.equal(reason(policy.admit(L, "10.0.0.1", t + 100)), "rate");
  for (let i = 0; i < 10; i++) lease(policy.admit(L, "10.0.0.1", t + 1100));
  assert.equal(reason(policy.admit(L, "10.0.0.1", t + 1100)), "rate");
});

test("the rate limiter: odd periods, refusals cost nothing, full buckets are swept, the key count is capped", () => {
  const rates = new MemoryRateLimiter({ maxKeys: 3, sweepIntervalMs: 1000 });
  for (let i = 0; i < 3; i++) assert.ok(rates.take("a", 3, 7, 0));
  for (let i = 0; i < 5; i++) assert.ok(!rates.take("a", 3, 7, 0));
  assert.ok(rates.take("a", 3, 7, 7000 / 3 + 1));
  assert.ok(!rates.take("a", 3, 7, 7000 / 3 + 1));
  rates.take("b", 1, 1, 2400);
  rates.take("c", 1, 1, 2400);
  rates.take("d", 1, 1, 2400);
  assert.equal(rates.size, 3, "capped");
  rates.sweep(100_000);
  assert.equal(rates.size, 0, "every bucket is full again");
});

test("user max_connections: past it the next request is refused; releases are idempotent; unlimited users are still counted", () => {
  const policy = compileAccessPolicy(
    config({}, { users: [{ username: "mta1", max_connections: 2 }, { username: "mta2" }] }),
  );
  const a = lease(policy.acquireUser("mta1"));
  lease(policy.acquireUser("mta1"));
  assert.equal(reason(policy.acquireUser("mta1")), "user_limit");
  a.release();
  a.release();
  lease(policy.acquireUser("mta1"));
  assert.equal(reason(policy.acquireUser("mta1")), "user_limit");
  const b = lease(policy.acquireUser("mta2"));
  assert.equal(policy.store.counts.count("user mta2"), 1);
  // A reload that limits mta2 sees the session already open.
  const next = compileAccessPolicy(config({}, { users: [{ username: "mta2", max_connections: 1 }] }), policy.store);
  assert.equal(reason(next.acquireUser("mta2")), "user_limit");
  b.release();
  lease(next.acquireUser("mta2"));
});

test("users[].source_addresses: the BIND addresses a user may ask for", () => {
  const policy = compileAccessPolicy(config({}, {
    users: [{ username: "mta1", source_addresses: ["203.0.113.0/28", "2001:db8::10"] }, { username: "mta2" }],
  }));
  assert.ok(policy.checkSourceAddress("mta1", "203.0.113.15"));
  assert.ok(policy.checkSourceAddress("mta1", parseIp("2001:db8::10")!));
  assert.ok(policy.checkSourceAddress("mta1", "::ffff:203.0.113.1"));
  assert.ok(!policy.checkSourceAddress("mta1", "203.0.113.16"));
  assert.ok(!policy.checkSourceAddress("mta1", "2001:db8::11"));
  assert.ok(!policy.checkSourceAddress("mta1", "garbage"));
  assert.ok(policy.checkSourceAddress("mta2", "198.51.100.1"), "no list: any address");
  assert.ok(policy.checkSourceAddress(undefined, "198.51.100.1"), "no user: no per-user list");
});

test("the policy's rules come from access_rules and default_action, with listeners matched by listen text", () => {
  const policy = compileAccessPolicy({
    proxy_listeners: [{ listen: { text: L, host: "0.0.0.0" } }, { listen: { text: "[::1]:1081", host: "::1" } }],
    access_rules: [{ action: "allow", listeners: ["[0:0::1]:1081"] }],
    default_action: "deny",
  });
  const req = { client: "10.0.0.1", command: "connect" as const, destination: "example.com", port: 25 };
  assert.deepEqual(policy.checkRequest({ ...req, listener: "[::1]:1081" }), {
    action: "allow",
    ruleIndex: 0,
    needsAddress: false,
  });
  assert.deepEqual(policy.checkRequest({ ...req, listener: L }), {
    action: "deny",
    ruleIndex: undefined,
    needsAddress: false,
  });
  assert.equal(policy.checkResolved({ ...req, listener: L }, "93.184.215.14").action, "deny");
});

test("open proxies: non-loopback listeners with neither require_auth nor allowed_clients", () => {
  const listen = (text: string, host: string) => ({ listen: { text, host } });
  const cfg: AccessConfig = {
    proxy_listeners: [
      listen("0.0.0.0:1080", "0.0.0.0"),
      listen("[::]:1080", "::"),
      listen("127.0.0.1:1080", "127.0.0.1"),
      listen("[::1]:1080", "::1"),
      listen("127.9.9.9:1080", "127.9.9.9"),
      { ...listen("192.0.2.1:1080", "192.0.2.1"), require_auth: true },
      { ...listen("192.0.2.1:1081", "192.0.2.1"), allowed_clients: ["10.0.0.0/8"] },
      listen("192.0.2.1:1082", "192.0.2.1"),
    ],
  };
  assert.deepEqual(openProxyListeners(cfg), ["0.0.0.0:1080", "[::]:1080", "192.0.2.1:1082"]);
  assert.deepEqual(compileAccessPolicy(cfg).openProxies, ["0.0.0.0:1080", "[::]:1080", "192.0.2.1:1082"]);
});
