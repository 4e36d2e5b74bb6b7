// A request refused by an access hook (REP 0x02) in an in-process server
// with the CLI's observer (metrics plus access log): it counts as
// proxy_requests_total{reply="not_allowed"} and its access line says
// end=denied, reply=not_allowed, with the hook's reason. (The CLI does not
// pass access_rules to the server yet; this exercises the same seam.)
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { configureLogging } from "../../src/log/index.ts";
import { MetricsObserver, ProxyMetrics } from "../../src/metrics/index.ts";
import { getRuntime } from "../../src/runtime/index.ts";
import { ProxyServer, withAccessLog } from "../../src/server/index.ts";
import { sample } from "../helpers/prometheus.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { humanAccessLines, pollFor } from "./helpers.ts";

after(() => configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => void l }));

test("a CONNECT an access hook denies: proxy_requests_total{reply=not_allowed} and end=denied", async () => {
  let log = "";
  configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => log += l });
  const runtime = getRuntime();
  const metrics = new ProxyMetrics({ version: "test", runtime, processMetrics: false });
  const listen = "127.0.0.1:0";
  const server = await ProxyServer.start({
    runtime,
    users: [],
    observer: withAccessLog(new MetricsObserver(metrics, { maxOutboundDestinations: 10 })),
    listeners: [{
      listen: { host: "127.0.0.1", port: 0, text: listen },
      timeout: 5,
      require_auth: false,
      allow_domain_names: true,
    }],
    access: { connect: () => ({ allow: false, reason: "rule no-smtp" }) },
  });
  try {
    const c = await rawConnect(server.listeners[0].addr.port);
    c.send([5, 1, 0]);
    assert.deepEqual([...await c.read(2)], [5, 0]);
    c.send(ipv4Request(1, "192.0.2.1", 25));
    assert.equal((await c.read(10))[1], 2, "REP 0x02 connection not allowed by ruleset");
    const port = c.socket.localPort;
    await c.readUntilClose();
    const lines = await pollFor(() => humanAccessLines(log), (l) => l.length > 0);
    assert.equal(lines.length, 1, log);
    assert.equal(lines[0].client, `127.0.0.1:${port}`);
    assert.equal(lines[0].end, "denied");
    assert.equal(lines[0].reply, "not_allowed");
    assert.equal(lines[0].destination, "192.0.2.1:25");
    assert.equal(lines[0].detail, "rule no-smtp");
    const text = await metrics.registry.metrics();
    // The label is the bound address, with the real port.
    const listener = `127.0.0.1:${server.listeners[0].addr.port}`;
    assert.equal(sample(text, "proxy_requests_total", { listener, command: "connect", reply: "not_allowed" }), 1);
  } finally {
    await server.stop(0);
  }
});
