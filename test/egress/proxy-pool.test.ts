// The proxy sending through egress pools, end to end with real processes:
// client -> proxy-server (egress_pool) -> upstream SOCKS5 proxies (a second
// proxy-server honouring BIND, Debian's danted) -> target.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { closedPort as findClosedPort, type Peer, startDante } from "../helpers/peers.ts";
import { tunnel } from "./helpers.ts";

let echo: EchoTarget;
let upstream: RunningProxy;
let dante: Peer;
let closedPort: number;

before(async () => {
  echo = await startEchoTarget();
  upstream = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  dante = await startDante("127.0.0.3");
  closedPort = await findClosedPort();
});

after(async () => {
  await upstream?.stop();
  await dante?.stop();
  await echo?.close();
});

function sources() {
  return {
    up: { socks5_proxy_server: `127.0.0.1:${upstream.ports[0]}`, socks5_proxy_source_address: "127.0.0.2" },
    dante: { socks5_proxy_server: `localhost:${dante.port}` },
    bad: {
      socks5_proxy_server: `127.0.0.1:${closedPort}`,
      suspend_when_proxy_unhealthy: { trigger: { Threshold: "3/5m" }, duration: "2s" },
    },
    up4: { socks5_proxy_server: `127.0.0.1:${upstream.ports[0]}`, socks5_proxy_source_address: "127.0.0.4" },
  };
}

test("a pool of a proxy-server upstream (BIND 127.0.0.2) and danted (from 127.0.0.3), weights 3:1: 75/25 over 100 tunnels", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "p" }],
    sources: sources(),
    pools: { p: { entries: [{ name: "up", weight: 3 }, { name: "dante", weight: 1 }] } },
  });
  try {
    const before = echo.peers.length;
    for (let i = 0; i < 100; i++) assert.equal(await tunnel(proxy.ports[0], echo.port), 0);
    const seen = echo.peers.slice(before);
    const viaUp = seen.filter((p) => p === "127.0.0.2").length;
    const viaDante = seen.filter((p) => p === "127.0.0.3").length;
    assert.equal(viaUp + viaDante, 100, `target saw ${JSON.stringify([...new Set(seen)])}`);
    assert.ok(Math.abs(viaUp - 75) <= 1 && Math.abs(viaDante - 25) <= 1, `shares ${viaUp}/${viaDante}`);
  } finally {
    await proxy.stop();
  }
});

test('closed-port upstream with Threshold "3/5m", duration "2s": clients never see an error; it suspends, then clears by itself', async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "p" }],
    sources: sources(),
    pools: { p: { entries: [{ name: "bad" }, { name: "up" }] } },
  });
  try {
    for (let i = 0; i < 12; i++) assert.equal(await tunnel(proxy.ports[0], echo.port), 0, `tunnel ${i}`);
    await proxy.waitForLog(/WARN.*egress source bad auto-suspended for 2s \(ProxyUnhealthy\)/);
    assert.equal(
      proxy.log().match(/source bad failed \(ProxyUnhealthy\)/g)?.length,
      3,
      "the third failure suspended it",
    );
    await proxy.waitForLog(/INFO.*egress source bad auto-suspension cleared \(ProxyUnhealthy\)/, 6000);
  } finally {
    await proxy.stop();
  }
});

test("the user's egress_pool wins over the listener's; an explicit BIND still pins the source address", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "via-dante" }],
    users: [{ username: "alice", password: "pw", egress_pool: "via-up" }],
    sources: sources(),
    pools: { "via-dante": { entries: [{ name: "dante" }] }, "via-up": { entries: [{ name: "up" }] } },
  });
  try {
    assert.equal(await tunnel(proxy.ports[0], echo.port), 0);
    assert.equal(echo.peers.at(-1), "127.0.0.3", "the listener's pool");
    assert.equal(await tunnel(proxy.ports[0], echo.port, { user: "alice" }), 0);
    assert.equal(echo.peers.at(-1), "127.0.0.2", "the user's pool");
    assert.equal(await tunnel(proxy.ports[0], echo.port, { bind: "127.0.0.5" }), 0);
    assert.equal(echo.peers.at(-1), "127.0.0.5", "BIND pins the source address");
  } finally {
    await proxy.stop();
  }
});

test("errors map to replies: a refused destination behind the upstream gives 0x05; all sources suspended gives 0x01 before the listener timeout", async () => {
  const proxy = await startProxy({
    proxy_listeners: [
      { listen: "127.0.0.1:0", egress_pool: "up", timeout: "10s" },
      { listen: "127.0.0.1:0", egress_pool: "broken", timeout: "10s" },
    ],
    sources: {
      ...sources(),
      broken: {
        socks5_proxy_server: `127.0.0.1:${closedPort}`,
        suspend_when_proxy_unhealthy: { duration: "60s" },
      },
    },
    pools: { up: { entries: [{ name: "up4" }] }, broken: { entries: [{ name: "broken" }] } },
  });
  try {
    assert.equal(await tunnel(proxy.ports[0], closedPort), 0x05, "the upstream's REP is passed on");
    assert.equal(await tunnel(proxy.ports[1], echo.port), 0x01, "the proxy failure itself");
    await proxy.waitForLog(/egress source broken auto-suspended/);
    // The client gives up 1 s before the listener timeout (10 s) would fire.
    assert.equal(await tunnel(proxy.ports[1], echo.port, { readMs: 9000 }), 0x01);
    await proxy.waitForLog(/egress pool broken: every source is suspended; the earliest, broken, comes back in \d/);
  } finally {
    await proxy.stop();
  }
});
