// The formats /metrics speaks, checked with real peers: gzip for a client
// that asks (curl's raw bytes, gunzipped independently), OpenMetrics for a
// scraper whose Accept prefers it (Prometheus' own header), and a real
// Prometheus server scraping the listener and seeing OpenMetrics families.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { curl } from "../helpers/curl.ts";
import { startPrometheus } from "../helpers/prometheus-server.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { parseExposition, promtoolCheck } from "../helpers/prometheus.ts";

let proxy: RunningProxy;
let base: string;
let dir: string;

/** The Accept header Prometheus 2.x sends when scraping. */
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "proxy-server-metrics-formats-"));
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
  });
  base = `http://127.0.0.1:${proxy.httpPorts[0]}`;
});

after(async () => {
  await proxy?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** GET `url` with curl, keeping the body's raw bytes; resolves with the headers (lower-case names) and the bytes. */
async function raw(url: string, headers: string[]): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const out = join(dir, `body-${Math.random().toString(36).slice(2)}`);
  const r = await curl([
    "--http1.1",
    "--dump-header",
    "-",
    "--output",
    out,
    ...headers.flatMap((h) => ["--header", h]),
    url,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const parsed: Record<string, string> = {};
  for (const line of r.stdout.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers: parsed, body: readFileSync(out) };
}

test("Accept-Encoding: gzip: /metrics and /metrics.json come gzip-compressed and decompress to the text format and the JSON", async () => {
  const zipped = await raw(`${base}/metrics`, ["Accept-Encoding: gzip"]);
  assert.equal(zipped.headers["content-encoding"], "gzip");
  assert.equal(zipped.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  assert.deepEqual([...zipped.body.subarray(0, 2)], [0x1f, 0x8b], "gzip magic bytes");
  const text = gunzipSync(zipped.body).toString("utf8");
  const plain = await raw(`${base}/metrics`, []);
  assert.equal(plain.headers["content-encoding"], undefined, "no compression unless asked");
  assert.ok(
    zipped.body.length < plain.body.length / 2,
    `compressed ${zipped.body.length} bytes of ${plain.body.length}`,
  );
  const families = parseExposition(text).families;
  assert.deepEqual(
    [...families.keys()].sort(),
    [...parseExposition(plain.body.toString("utf8")).families.keys()].sort(),
  );
  assert.equal(families.get("proxy_active_connections")?.type, "gauge");
  const check = await promtoolCheck(text);
  assert.equal(check.code, 0, check.output);
  const json = await raw(`${base}/metrics.json`, ["Accept-Encoding: gzip"]);
  assert.equal(json.headers["content-encoding"], "gzip");
  assert.equal(JSON.parse(gunzipSync(json.body).toString("utf8")).proxy_active_connections.type, "gauge");
});

test("Accept: application/openmetrics-text gets OpenMetrics: counters' families without _total, samples with it, # EOF last", async () => {
  for (const accept of [PROMETHEUS_ACCEPT, "application/openmetrics-text"]) {
    const r = await raw(`${base}/metrics`, [`Accept: ${accept}`]);
    assert.equal(r.headers["content-type"], "application/openmetrics-text; version=1.0.0; charset=utf-8", accept);
    const text = r.body.toString("utf8");
    assert.ok(text.endsWith("\n# EOF\n"), "ends in # EOF");
    assert.match(text, /^# TYPE proxy_connections_accepted counter$/m);
    assert.match(
      text,
      new RegExp(`^proxy_connections_accepted_total\\{listener="127\\.0\\.0\\.1:${proxy.ports[0]}"\\} 0$`, "m"),
    );
    assert.match(text, /^# TYPE proxy_handshake_duration_seconds histogram$/m);
    assert.doesNotMatch(text, /^# TYPE \S+_total counter$/m, "no counter family keeps _total");
  }
  // The Prometheus format is unharmed by an OpenMetrics render before it.
  const after = await raw(`${base}/metrics`, ["Accept: text/plain"]);
  assert.equal(after.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  assert.match(after.body.toString("utf8"), /^# TYPE proxy_connections_accepted_total counter$/m);
  for (
    const accept of ["text/plain", "*/*", "application/openmetrics-text;q=0.2,text/plain;q=0.5", "application/json"]
  ) {
    const r = await raw(`${base}/metrics`, [`Accept: ${accept}`]);
    assert.equal(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8", accept);
  }
});

test("a real Prometheus scrapes /metrics (OpenMetrics, gzip): target up, counters typed as OpenMetrics families", async () => {
  const prometheus = await startPrometheus("proxy", [`127.0.0.1:${proxy.httpPorts[0]}`]);
  try {
    // Bounded poll until the first scrape is in.
    let target: { health: string; lastError: string } | undefined;
    await prometheus.until("the first scrape", async () => {
      target = (await prometheus.api("/api/v1/targets")).data?.activeTargets?.[0];
      return target?.health === "up";
    }, 30_000);
    assert.equal(target?.lastError, "");
    // OpenMetrics names a counter's family without _total; the text format would keep it.
    const meta = await prometheus.api("/api/v1/targets/metadata", { metric: "proxy_connections_accepted" });
    assert.deepEqual(meta.data.map((m: { type: string }) => m.type), ["counter"], JSON.stringify(meta));
    const query = await prometheus.query("proxy_build_info");
    assert.equal(query.result[0].metric.commit, "source");
    assert.equal(query.result[0].value[1], "1");
  } finally {
    await prometheus.stop();
  }
});
