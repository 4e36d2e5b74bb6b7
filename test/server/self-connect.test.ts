// Issue 16: the proxy never CONNECTs to its own listeners, SOCKS or HTTP,
// on any of their addresses, whatever the access rules say.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { curl } from "../helpers/curl.ts";
import { denied, greet, reply, startCountingTarget } from "./access-helpers.ts";

let proxy: RunningProxy;

before(async () => {
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }, { listen: "0.0.0.0:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    access_rules: [{ action: "allow" }],
  });
});

after(async () => {
  await proxy?.stop();
});

test("a client chaining CONNECTs to the proxy's own SOCKS listener gets 0x02 at the first hop", async () => {
  const c = await greet(proxy.ports[0]);
  assert.equal(await reply(c, 1, "127.0.0.1", proxy.ports[0]), 2);
  c.close();
  const name = await greet(proxy.ports[0]);
  assert.equal(await reply(name, 1, "localhost", proxy.ports[0]), 2, "by name too");
  name.close();
  await proxy.waitForLog(/CONNECT 127\.0\.0\.1:\d+: a listener of this proxy/, 5_000);
});

test("a 0.0.0.0 listener is refused through any local address", async () => {
  const local = ["127.0.0.1", "127.0.0.2", "0.0.0.0"];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) local.push(a.address);
  }
  for (const address of local) {
    const c = await greet(proxy.ports[0]);
    assert.equal(await reply(c, 1, address, proxy.ports[1]), 2, `CONNECT ${address}:${proxy.ports[1]}`);
    c.close();
  }
});

test("the admin API is not reachable through the proxy", async () => {
  const r = await curl(["--socks5", `127.0.0.1:${proxy.ports[0]}`, `http://127.0.0.1:${proxy.httpPorts[0]}/metrics`]);
  assert.equal(r.code, 97, r.stderr);
  assert.match(r.stderr, /\(2\)/);
  assert.ok((await denied(proxy.httpPorts[0], `127.0.0.1:${proxy.ports[0]}`, "self")) >= 1);
});

test("another port on the same address is still reachable", async () => {
  const target = await startCountingTarget(["127.0.0.1"]);
  try {
    const c = await greet(proxy.ports[0]);
    assert.equal(await reply(c, 1, "127.0.0.1", target.port), 0);
    c.close();
  } finally {
    await target.close();
  }
});
