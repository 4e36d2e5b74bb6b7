// Issue 11 defect 1: the proxy resolves destination names itself and
// connects to one address at a time, so a target sees exactly one
// connection per CONNECT; address_family_preference orders the addresses.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SocksClient } from "socks";
import { runCli, type RunningProxy, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";
import { getRuntime } from "../../src/runtime/index.ts";
import { AccessDeniedError, directDialer, orderAddresses } from "../../src/server/index.ts";
import { type CountingTarget, greet, reply, startCountingTarget } from "./access-helpers.ts";

let target: CountingTarget;
let proxy: RunningProxy;
let v6only: RunningProxy;

before(async () => {
  target = await startCountingTarget(["127.0.0.1", "::1"]);
  proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  v6only = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0", address_family_preference: "ipv6_only" }] });
});

after(async () => {
  await proxy?.stop();
  await v6only?.stop();
  await target?.close();
});

const total = () => [...target.accepted.values()].reduce((a, b) => a + b, 0);

test("N CONNECTs to localhost give exactly N connections at a target on 127.0.0.1 and ::1", async () => {
  const before = total();
  const n = 5;
  for (let i = 0; i < n; i++) {
    const { socket } = await SocksClient.createConnection({
      proxy: { host: "127.0.0.1", port: proxy.ports[0], type: 5 },
      command: "connect",
      destination: { host: "localhost", port: target.port },
    });
    socket.write("x");
    await new Promise((resolve) => socket.once("data", resolve));
    socket.destroy();
  }
  // Any stray second connection would have been accepted by now: the tunnels
  // above round-tripped a byte after their connection was made.
  assert.equal(total() - before, n);
});

test("ipv6_only reaches ::1 only", async () => {
  const c = await greet(v6only.ports[0]);
  assert.equal(await reply(c, 1, "::1", target.port), 0);
  c.send([1]);
  assert.deepEqual([...await c.read(1)], [1]);
  c.close();
  assert.equal(target.peers.at(-1), "::1");
  const d = await greet(v6only.ports[0]);
  assert.equal(await reply(d, 1, "127.0.0.1", target.port), 4, "an IPv4 destination is host unreachable");
  d.close();
});

test("orderAddresses applies each preference, stable within a family", () => {
  const a = ["::1", "127.0.0.1", "fe80::1", "10.0.0.1"];
  assert.deepEqual(orderAddresses(a, "system"), a);
  assert.deepEqual(orderAddresses(a, "ipv4_first"), ["127.0.0.1", "10.0.0.1", "::1", "fe80::1"]);
  assert.deepEqual(orderAddresses(a, "ipv6_first"), ["::1", "fe80::1", "127.0.0.1", "10.0.0.1"]);
  assert.deepEqual(orderAddresses(a, "ipv4_only"), ["127.0.0.1", "10.0.0.1"]);
  assert.deepEqual(orderAddresses(a, "ipv6_only"), ["::1", "fe80::1"]);
});

test("a name whose first address is closed falls over to the second", async () => {
  // A name with two addresses, through an injected resolver (/etc/hosts has no such name).
  const single = await startCountingTarget(["127.0.0.1"]);
  try {
    const dial = directDialer(getRuntime(), { resolve: () => Promise.resolve(["127.0.0.2", "127.0.0.1"]) });
    // 127.0.0.2:single.port refuses (nothing listens there), 127.0.0.1:single.port accepts.
    const conn = await dial({
      destination: { host: "two.example.test", port: single.port },
      signal: new AbortController().signal,
      timeout: 5,
    });
    assert.equal(conn.remoteAddr.host, "127.0.0.1");
    conn.close();
    assert.equal(single.peers.length, 1);
  } finally {
    await single.close();
  }
});

test("only addresses that pass checkAddress are connected to; none passing is an access denial", async () => {
  const seen: string[] = [];
  const dial = directDialer(getRuntime(), { resolve: () => Promise.resolve(["127.0.0.1", "::1"]) });
  const conn = await dial({
    destination: { host: "both.example.test", port: target.port },
    signal: new AbortController().signal,
    timeout: 5,
    checkAddress: (a) => {
      seen.push(a.host);
      return a.host === "::1" ? { allow: true } : { allow: false, reason: "no IPv4" };
    },
  });
  assert.equal(conn.remoteAddr.host, "::1");
  conn.close();
  assert.deepEqual(seen, ["127.0.0.1", "::1"]);
  await assert.rejects(
    dial({
      destination: { host: "both.example.test", port: target.port },
      signal: new AbortController().signal,
      checkAddress: () => ({ allow: false, reason: "nothing" }),
    }),
    AccessDeniedError,
  );
});

test("a bad address_family_preference exits 2 with the JSON path", async () => {
  const file = writeTempConfig({ proxy_listeners: [{ listen: "127.0.0.1:0", address_family_preference: "ipv5" }] });
  const r = await runCli(["--config", file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /\$\.proxy_listeners\[0\]\.address_family_preference/);
  assert.match(r.stderr, /ipv4_first/);
});
