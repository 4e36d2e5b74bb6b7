// The diagnostic log filter of a running proxy-server: changed at run time
// through POST /api/admin/set_diagnostic_log_filter/v1 (a bad filter gets 400
// and the old one stays), read at start from log.filter and PROXY_SERVER_LOG
// (the environment wins), and written as JSON lines with log.format "json".
import { test } from "node:test";
import assert from "node:assert/strict";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";

const FILTER_PATH = "/api/admin/set_diagnostic_log_filter/v1";

/** POST a new filter; returns the response. */
function setFilter(proxy: RunningProxy, body: string) {
  return httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}${FILTER_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
}

const count = (log: string, pattern: RegExp) => log.split("\n").filter((l) => pattern.test(l)).length;
const DEBUG_LINE = /GET \/proxy\/status 200 from/;
const MARKER = /diagnostic log filter changed/;

/**
 * GET /proxy/status (logged at debug level by the HTTP listener), then set
 * `filter` (logged at info level after the change). Resolves once that info
 * line is in: stderr is ordered, so the GET's debug line, if any, is in too.
 */
async function probe(proxy: RunningProxy, filter: string): Promise<void> {
  const marks = count(proxy.log(), MARKER);
  await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/proxy/status`);
  const r = await setFilter(proxy, JSON.stringify({ filter }));
  assert.equal(r.status, 200, r.body);
  for (let i = 0; i < 100 && count(proxy.log(), MARKER) === marks; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(count(proxy.log(), MARKER), marks + 1, proxy.log());
}

test("the log filter endpoint changes what is logged at once; a bad filter gets 400 and the old one stays", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    log: { filter: "proxy_server=info" },
  });
  try {
    await probe(proxy, "proxy_server=info");
    assert.equal(count(proxy.log(), DEBUG_LINE), 0, "debug lines are filtered out at info");
    assert.match(
      proxy.log(),
      /\[INFO\] proxy_server::http: diagnostic log filter changed from proxy_server=info to proxy_server=info/,
    );

    const r = await setFilter(proxy, '{"filter":"proxy_server=debug"}');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { filter: "proxy_server=debug", previous: "proxy_server=info" });
    await probe(proxy, "proxy_server=debug");
    assert.equal(count(proxy.log(), DEBUG_LINE), 1, "logged at debug right after the change");
    assert.match(proxy.log(), /\[DEBUG\] proxy_server::http: GET \/proxy\/status 200 from 127\.0\.0\.1/);

    const bad = await setFilter(proxy, '{"filter":"proxy_server=chatty"}');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error, /bad directive "proxy_server=chatty"/);
    await probe(proxy, "proxy_server=debug");
    assert.equal(count(proxy.log(), DEBUG_LINE), 2, "still at debug after the refused filter");

    // Per-target levels: the HTTP listener's target at warn, the rest at info.
    assert.equal((await setFilter(proxy, '{"filter":"proxy_server=info,proxy_server::http=warn"}')).status, 200);
    await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/proxy/status`);
    await probe(proxy, "proxy_server=info");
    assert.equal(count(proxy.log(), DEBUG_LINE), 2, "proxy_server::http=warn hid the debug line");
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("PROXY_SERVER_LOG overrides log.filter at start; log.format json writes one JSON object per line", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    log: { filter: "proxy_server=warn", format: "json" },
  }, { env: { PROXY_SERVER_LOG: "proxy_server=debug" } });
  try {
    await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/proxy/status`);
    await proxy.waitForLog(/"path":"\/proxy\/status"/);
    const records = proxy.log().trim().split("\n").map((line) => JSON.parse(line));
    const request = records.find((r) => r.properties?.path === "/proxy/status");
    assert.equal(request.level, "DEBUG", "a debug record although log.filter says warn");
    assert.equal(request.logger, "proxy_server::http");
    assert.equal(request.properties.status, 200);
    assert.ok(records.some((r) => /^proxy listener on "127\.0\.0\.1:\d+"$/.test(r.message) && r.level === "INFO"));
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
