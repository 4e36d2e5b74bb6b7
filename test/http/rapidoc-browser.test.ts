// A real browser (headless Chromium, every host but loopback unreachable)
// opens /rapidoc: the Scalar page renders the API title and the /metrics
// operation from what proxy-server itself serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startProxy } from "../helpers/proxy-process.ts";
import { dumpDom } from "../helpers/chromium.ts";

test("headless Chromium without internet renders /rapidoc with the API title and the /metrics operation", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
  }, { env: { PROXY_SERVER_LOG: "proxy_server=info,proxy_server::http=debug" } });
  try {
    const dom = await dumpDom(`http://127.0.0.1:${proxy.httpPorts[0]}/rapidoc`);
    // Rendered by the bundle's script, not just present in the served HTML.
    assert.match(dom, /<h1[^>]*>proxy-server HTTP API<\/h1>/);
    assert.match(dom, /class="[^"]*endpoint-path[^"]*">\/metrics<\/span>/);
    assert.match(dom, /Prometheus metrics/);
    assert.match(dom, /\/api\/admin\/set_diagnostic_log_filter\/v1/);
    // The page got its script and the document from this listener.
    assert.match(proxy.log(), /GET \/rapidoc\/scalar\.js 200 from 127\.0\.0\.1/);
    assert.match(proxy.log(), /GET \/api-docs\/openapi\.json 200 from 127\.0\.0\.1/);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
