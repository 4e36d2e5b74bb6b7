// Egress sources against real upstreams on loopback: a proxy-server child
// (honours BIND), Debian's haproxy with accept-proxy, and the failure
// classes each produces; active health checks against a proxy-server child
// that is stopped and restarted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ActiveCheck, EgressConnectError, EgressRegistry, EgressSource } from "../../src/egress/index.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { closedPort as findClosedPort, freePort, type Peer, startHaproxy } from "../helpers/peers.ts";
import { collectLogs, recorder, runtime, until } from "./helpers.ts";

let echo: EchoTarget;
let upstream: RunningProxy;
let haproxy: Peer;
const logs = collectLogs();

before(async () => {
  echo = await startEchoTarget();
  upstream = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  haproxy = await startHaproxy(echo.port);
});

after(async () => {
  await upstream?.stop();
  await haproxy?.stop();
  await echo?.close();
});

async function roundTrip(conn: { write(b: Uint8Array): Promise<void>; read(): Promise<Uint8Array | null> }) {
  await conn.write(new TextEncoder().encode("ping"));
  assert.equal(new TextDecoder().decode((await conn.read())!), "ping");
}

test("SOCKS5 upstream with socks5_proxy_source_address: BIND then CONNECT, the target sees the source address", async () => {
  const source = new EgressSource("up", {
    socks5_proxy_server: { host: "localhost", port: upstream.ports[0] },
    socks5_proxy_source_address: "127.0.0.2",
  }, { runtime });
  const conn = await source.connect({ host: "127.0.0.1", port: echo.port }, { timeout: 5 });
  await roundTrip(conn);
  conn.close();
  assert.equal(echo.peers.at(-1), "127.0.0.2");
});

test("an upstream that answers BIND with an error suspends the source (ProxyUnhealthy)", async () => {
  const observer = recorder();
  const registry = new EgressRegistry({
    sources: {
      up: {
        socks5_proxy_server: { host: "127.0.0.1", port: upstream.ports[0] },
        socks5_proxy_source_address: "192.0.2.1",
        suspend_when_proxy_unhealthy: { trigger: "Immediate", duration: 60 },
      },
    },
    pools: {},
  }, { runtime, observer });
  await assert.rejects(registry.source("up").connect({ host: "127.0.0.1", port: echo.port }), (error: unknown) => {
    assert.ok(error instanceof EgressConnectError);
    assert.equal(error.kind, "ProxyUnhealthy");
    assert.match(error.message, /BIND 192\.0\.2\.1:0 with REP/);
    return true;
  });
  assert.equal(observer.count("suspended", "up", "ProxyUnhealthy"), 1);
  await registry.stop();
});

test("an upstream whose CONNECT to the destination is refused does not suspend; its REP is kept", async () => {
  const observer = recorder();
  const closed = await findClosedPort();
  const registry = new EgressRegistry({
    sources: {
      up: {
        socks5_proxy_server: { host: "127.0.0.1", port: upstream.ports[0] },
        socks5_proxy_source_address: "127.0.0.2",
        suspend_when_proxy_unhealthy: { trigger: "Immediate", duration: 60 },
      },
    },
    pools: {},
  }, { runtime, observer });
  await assert.rejects(registry.source("up").connect({ host: "127.0.0.1", port: closed }), (error: unknown) => {
    assert.ok(error instanceof EgressConnectError);
    assert.deepEqual([error.kind, error.rep], ["Destination", 0x05]);
    return true;
  });
  assert.equal(observer.count("connectionFailed", "up"), 0);
  assert.equal(registry.status("up").suspended, false);
  await registry.stop();
});

test("a DNS-named proxy: each address is tried in turn and the failures count once", async () => {
  // "localhost" resolves to 127.0.0.1 (and ::1 where configured); nothing listens on this port.
  const observer = recorder();
  const registry = new EgressRegistry({
    sources: { up: { socks5_proxy_server: { host: "localhost", port: await findClosedPort() } } },
    pools: {},
  }, { runtime, observer });
  await assert.rejects(registry.source("up").connect({ host: "127.0.0.1", port: echo.port }), EgressConnectError);
  assert.equal(observer.count("connectionFailed", "up", "ProxyUnhealthy"), 1);
  await registry.stop();
});

test("several addresses for the proxy's name: a dead one is skipped; when all fail, one combined failure counts", async () => {
  const observer = recorder();
  // The name resolves (via the resolver hook) to an address where nothing listens, then to the upstream.
  const names: Record<string, string[]> = {
    "proxy.test": ["127.0.0.9", "127.0.0.1"],
    "dead.test": ["127.0.0.9", "127.0.0.10"],
  };
  const resolve = (host: string) => Promise.resolve(names[host] ?? [host]);
  const via = (host: string) =>
    new EgressSource(host, { socks5_proxy_server: { host, port: upstream.ports[0] } }, { runtime, observer, resolve });
  const conn = await via("proxy.test").connect({ host: "127.0.0.1", port: echo.port }, { timeout: 5 });
  await roundTrip(conn);
  conn.close();
  assert.equal(observer.count("connectionFailed", "proxy.test"), 0);
  await assert.rejects(
    via("dead.test").connect({ host: "127.0.0.1", port: echo.port }, { timeout: 5 }),
    (error: unknown) => {
      assert.ok(error instanceof EgressConnectError);
      assert.equal(error.kind, "ProxyUnhealthy");
      assert.match(
        error.message,
        /every address of proxy dead\.test:\d+ failed: 127\.0\.0\.9:\d+: .*; 127\.0\.0\.10:\d+: /,
      );
      return true;
    },
  );
  assert.equal(observer.count("connectionFailed", "dead.test", "ProxyUnhealthy"), 1);
});

test("PROXY v2 through Debian's haproxy: the target is reached and haproxy logs the header's source address", async () => {
  const source = new EgressSource("ha", {
    ha_proxy_server: { host: "127.0.0.1", port: haproxy.port },
    ha_proxy_source_address: "192.0.2.55",
  }, { runtime });
  const conn = await source.connect({ host: "127.0.0.1", port: echo.port }, { timeout: 5 });
  await roundTrip(conn);
  conn.close();
  await until(
    () => /proxied connection from 192\.0\.2\.55:0 to 127\.0\.0\.1:\d+/.test(haproxy.log()),
    "haproxy's log line",
  );
  assert.match(haproxy.log(), new RegExp(`proxied connection from 192\\.0\\.2\\.55:0 to 127\\.0\\.0\\.1:${echo.port}`));
});

test("health checks: stopping the upstream flips healthy to 0 after fall checks, restarting flips it back after rise", async () => {
  const port = await freePort();
  const config = { proxy_listeners: [{ listen: `127.0.0.1:${port}` }] };
  const env = { PROXY_SERVER_LOG: "proxy_server=debug" };
  let checked = await startProxy(config, { env });
  const observer = recorder();
  const registry = new EgressRegistry({
    sources: {
      up: {
        socks5_proxy_server: { host: "127.0.0.1", port },
        socks5_proxy_source_address: "127.0.0.2",
        health_check: { interval: 0.2, timeout: 2, fall: 2, rise: 2 },
      },
    },
    pools: {},
  }, { runtime, observer });
  registry.startHealthChecks();
  try {
    await until(() => /client closed the connection before sending a request/.test(checked.log()), "a probe to arrive");
    const firstLog = checked.log();
    await checked.stop();
    await until(() => observer.lastHealth("up") === false, "healthy to drop to 0");
    assert.match(logs.text(), /egress source up health check failed 2 times: down/);
    assert.equal(registry.status("up").reason, "HealthCheck");
    assert.equal(registry.status("up").suspended, true);
    assert.equal(observer.count("suspended", "up", "HealthCheck"), 1);

    checked = await startProxy(config, { env });
    await until(() => observer.lastHealth("up") === true, "healthy to return to 1");
    assert.match(logs.text(), /egress source up health check passed 2 times: up/);
    assert.equal(observer.count("unsuspended", "up", "HealthCheck"), 1);
    assert.equal(registry.status("up").suspended, false);
    for (const log of [firstLog, checked.log()]) {
      assert.doesNotMatch(log, /session failed/, "the upstream logs no protocol error for the probes");
      assert.match(log, /client closed the connection before sending a request/);
    }
  } finally {
    await registry.stop();
    await checked.stop();
  }
});

test("a HAProxy source's health check sends a PROXY v2 LOCAL header: passes against haproxy, fails on a closed port", async () => {
  const spec = { interval: 30, timeout: 2, fall: 1, rise: 1 };
  const live = new EgressSource("ha", {
    ha_proxy_server: { host: "127.0.0.1", port: haproxy.port },
    ha_proxy_source_address: "192.0.2.55",
    health_check: spec,
  }, { runtime });
  assert.equal(await new ActiveCheck(live, spec).checkNow(), true);
  assert.equal(live.suspension.healthy, true);
  const dead = new EgressSource("ha-dead", {
    ha_proxy_server: { host: "127.0.0.1", port: await findClosedPort() },
    ha_proxy_source_address: "192.0.2.55",
    health_check: spec,
  }, { runtime });
  assert.equal(await new ActiveCheck(dead, spec).checkNow(), false);
  assert.deepEqual([dead.suspension.healthy, dead.suspension.current()?.reason], [false, "HealthCheck"]);
  dead.suspension.dispose();
});

test("bytes an upstream sends right behind its CONNECT reply (a banner) reach the reader first", async () => {
  // A scripted upstream that writes the CONNECT reply and an SMTP banner in one segment.
  const { createServer } = await import("node:net");
  const server = createServer((socket) => {
    let stage = 0;
    socket.on("data", () => {
      if (stage++ === 0) socket.write(Uint8Array.from([5, 0]));
      else {
        const banner = new TextEncoder().encode("220 mx.test ESMTP\r\n");
        socket.write(Uint8Array.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 25, ...banner]));
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const source = new EgressSource("scripted", { socks5_proxy_server: { host: "127.0.0.1", port } }, { runtime });
    const conn = await source.connect({ host: "192.0.2.25", port: 25 }, { timeout: 5 });
    assert.equal(new TextDecoder().decode((await conn.read())!), "220 mx.test ESMTP\r\n");
    conn.close();
  } finally {
    server.close();
  }
});
