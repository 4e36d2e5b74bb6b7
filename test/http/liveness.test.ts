// Liveness through the service's life: 503 "starting" before the proxy
// listeners are bound (the app in process), 200 while serving, 503 "shutting
// down" during the grace period after SIGTERM (the real process).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createApp, ServiceHealth } from "../../src/http/index.ts";
import { ProxyMetrics } from "../../src/metrics/index.ts";
import { sendSignal, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { startEchoTarget } from "../helpers/target.ts";

test("the app answers liveness 503 with the reason while starting, 200 once operational, 503 while stopping", async () => {
  const info = { product: "proxy-server", version: "0.1.0", build: "test", runtime: "test 1", startedAt: new Date() };
  const health = new ServiceHealth();
  const metrics = new ProxyMetrics({
    version: "0.1.0",
    runtime: { name: "test", version: "1" },
    processMetrics: false,
  });
  const app = createApp({ info, metrics, health }, {
    trusted_hosts: ["127.0.0.1"],
    request_body_limit: 1024,
    expose_system_info: false,
  });
  const get = async (path: string) => {
    const r = await app.request(path, {}, { remoteAddr: { host: "127.0.0.1", port: 40000 } });
    return { status: r.status, body: await r.text() };
  };
  assert.deepEqual(await get("/api/check-liveness/v1"), {
    status: 503,
    body: "starting: the proxy listeners are not all accepting yet\n",
  });
  assert.equal(JSON.parse((await get("/api/status/v1")).body).status, "starting");
  health.phase = "operational";
  assert.deepEqual(await get("/api/check-liveness/v1"), { status: 200, body: "ok\n" });
  health.phase = "stopping";
  assert.deepEqual(await get("/api/check-liveness/v1"), {
    status: 503,
    body: "shutting down: the proxy listeners no longer accept clients\n",
  });
  // KumoProxy's simple check answers the same while the process serves HTTP; the phase is in the status document.
  assert.deepEqual(await get("/proxy/status"), { status: 200, body: "KumoProxy OK" });
  assert.equal(JSON.parse((await get("/api/status/v1")).body).status, "stopping");
});

test("after SIGTERM, liveness answers 503 'shutting down' while open tunnels finish; the HTTP listener closes last", async () => {
  const echo = await startEchoTarget();
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    shutdown_grace_period: "10s",
  });
  const liveness = `http://127.0.0.1:${proxy.httpPorts[0]}/api/check-liveness/v1`;
  try {
    assert.equal((await httpRequest(liveness)).status, 200);
    const c = await rawConnect(proxy.ports[0]);
    c.send([5, 1, 0]);
    await c.read(2);
    c.send(ipv4Request(1, "127.0.0.1", echo.port));
    assert.equal((await c.read(10))[1], 0);
    sendSignal(proxy.child, "SIGTERM");
    await proxy.waitForLog(/no longer accepting/);
    const during = await httpRequest(liveness);
    assert.equal(during.status, 503);
    assert.match(during.headers["content-type"], /^text\/plain/);
    assert.equal(during.body, "shutting down: the proxy listeners no longer accept clients\n");
    const status = JSON.parse((await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/api/status/v1`)).body);
    assert.equal(status.status, "stopping");
    c.socket.end();
    await c.readUntilClose();
    assert.equal(await proxy.exited(8_000), 0);
    await assert.rejects(httpRequest(liveness), /no HTTP response/);
  } finally {
    await proxy.stop("SIGKILL");
    await echo.close();
  }
});
