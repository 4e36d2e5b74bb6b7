// Runtime adapter: the BIND probe (Runtime.probeBind) and the bound on its
// success cache. The cache test injects the bind, so that 200,000 distinct
// addresses cost no sockets; the others bind real UDP sockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getRuntime, NetError } from "../../src/runtime/index.ts";
import { createBindProbe, PROBE_CACHE_MAX } from "../../src/runtime/node/bind-probe.ts";

const rt = getRuntime();

/** The `i`-th address of 10.0.0.0/8 (distinct for i < 2^24). */
function tenNet(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

test("probeBind: 200,000 distinct successful addresses leave the cache at its bound", async () => {
  const binds = new Map<string, number>();
  const probe = createBindProbe({
    bind: (address) => {
      binds.set(address, (binds.get(address) ?? 0) + 1);
      return Promise.resolve();
    },
  });
  const total = 200_000;
  for (let i = 0; i < total; i++) await probe.probe(tenNet(i));
  assert.equal(binds.size, total, "every address was bound once");
  assert.equal(probe.size, PROBE_CACHE_MAX, "the cache holds its bound, not every address");
  // The most recent addresses are still trusted; the oldest were evicted.
  await probe.probe(tenNet(total - 1));
  assert.equal(binds.get(tenNet(total - 1)), 1, "a recent success is served from the cache");
  await probe.probe(tenNet(0));
  assert.equal(binds.get(tenNet(0)), 2, "an evicted address is probed again");
  assert.equal(probe.size, PROBE_CACHE_MAX);
});

test("probeBind: a success is cached, a failure is not", async () => {
  let calls = 0;
  let fail = true;
  const probe = createBindProbe({
    bind: () => {
      calls++;
      return fail
        ? Promise.reject(Object.assign(new Error("no such address"), { code: "EADDRNOTAVAIL" }))
        : Promise.resolve();
    },
  });
  await assert.rejects(probe.probe("192.0.2.7"), (e: unknown) => e instanceof NetError && e.code === "EADDRNOTAVAIL");
  assert.equal(probe.size, 0);
  fail = false;
  await probe.probe("192.0.2.7");
  await probe.probe("192.0.2.7");
  assert.equal(calls, 2, "the failure was retried, the success remembered");
  assert.equal(probe.size, 1);
});

test("Runtime.probeBind: a local address binds, a foreign one is EADDRNOTAVAIL, a name is EINVAL", async () => {
  await rt.probeBind("127.0.0.1");
  await rt.probeBind("::1");
  await assert.rejects(rt.probeBind("192.0.2.1"), (e: unknown) => e instanceof NetError && e.code === "EADDRNOTAVAIL");
  await assert.rejects(rt.probeBind("localhost"), (e: unknown) => e instanceof NetError && e.code === "EINVAL");
});

test("Runtime.resolve: an IP literal is itself (brackets removed), localhost resolves, a family filter applies", async () => {
  assert.deepEqual(await rt.resolve("192.0.2.9"), ["192.0.2.9"]);
  assert.deepEqual(await rt.resolve("[::1]"), ["::1"]);
  assert.ok((await rt.resolve("localhost", 4)).includes("127.0.0.1"));
  await assert.rejects(rt.resolve("192.0.2.9", 6), (e: unknown) => e instanceof NetError && e.code === "ENOTFOUND");
});
