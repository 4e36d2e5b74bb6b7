// The HTTP listener of a running proxy-server, as curl sees it: each route's
// status, content type and body shape; the OpenAPI document equals the CLI
// dump and lists every route; the metric metadata dump covers /metrics.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { validate } from "@scalar/openapi-parser";
import { runCli, type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";
import { parseExposition } from "../helpers/prometheus.ts";
import { VERSION } from "../../src/cli/version.ts";

let proxy: RunningProxy;
let base: string;
const runtime = "Deno" in globalThis ? "deno" : "bun";

before(async () => {
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }, { listen: "[::1]:0", expose_system_info: true }],
  });
  base = `http://127.0.0.1:${proxy.httpPorts[0]}`;
});

after(async () => {
  assert.equal(await proxy?.stop(), 0);
});

test("start-up logs one 'http listener on ADDR:PORT' line per HTTP listener, before the proxy listeners", () => {
  assert.equal(proxy.httpPorts.length, 2);
  assert.ok(proxy.httpPorts.every((p) => p > 0));
  assert.match(proxy.log(), /http listener on 127\.0\.0\.1:\d+[^]*http listener on \[::1\]:\d+[^]*proxy listener on/);
});

test("GET /metrics: Prometheus text exposition with its content type", async () => {
  const r = await httpRequest(`${base}/metrics`);
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  const { families } = parseExposition(r.body);
  assert.equal(families.get("proxy_active_connections")?.type, "gauge");
  assert.equal(families.get("process_start_time_seconds")?.type, "gauge");
});

test("GET /metrics.json: KumoMTA's shape, keyed by metric name, for unlabelled, labelled, multi-label and histogram metrics", async () => {
  const r = await httpRequest(`${base}/metrics.json`);
  assert.equal(r.status, 200);
  assert.match(r.headers["content-type"], /^application\/json/);
  const body = JSON.parse(r.body) as Record<string, { help?: string; type: string; value: unknown }>;
  assert.ok(!Array.isArray(body) && typeof body === "object");
  // Unlabelled: the number itself.
  assert.deepEqual(body.proxy_outbound_destinations_evicted_total, {
    help: "Series of proxy_outbound_connections_total dropped to keep it within metrics.max_outbound_destinations.",
    type: "counter",
    value: 0,
  });
  // One label: { LABEL: { LABEL_VALUE: number } }.
  assert.deepEqual(body.proxy_active_connections, {
    help: "Client connections open now (handshakes and tunnels).",
    type: "gauge",
    value: { listener: { [`127.0.0.1:${proxy.ports[0]}`]: 0 } },
  });
  assert.equal(typeof body.process_start_time_seconds.value, "number");
  // Several labels: one object per series, labels in declared order and "@" the value.
  const build = body.proxy_build_info.value as Record<string, unknown>[];
  assert.deepEqual(Object.keys(build[0]), ["version", "commit", "build_date", "runtime", "runtime_version", "@"]);
  assert.deepEqual([build[0].version, build[0].commit, build[0].runtime, build[0]["@"]], [
    VERSION,
    "source",
    runtime,
    1,
  ]);
  // A histogram: { count, sum, avg, bucket: [[le, cumulative]] } where the number would be.
  const handshake = (body.proxy_handshake_duration_seconds.value as {
    listener: Record<string, { count: number; sum: number; avg: number; bucket: [number, number][] }>;
  }).listener[`127.0.0.1:${proxy.ports[0]}`];
  assert.deepEqual(Object.keys(handshake), ["count", "sum", "avg", "bucket"]);
  assert.deepEqual([handshake.count, handshake.sum, handshake.avg], [0, 0, 0]);
  assert.deepEqual(handshake.bucket[0], [0.001, 0]);
  assert.deepEqual(handshake.bucket.at(-1), [60, 0]);
  // No series yet: null.
  assert.equal(body.egress_source_healthy.value, null);
  const text = parseExposition((await httpRequest(`${base}/metrics`)).body);
  assert.deepEqual(Object.keys(body).sort(), [...text.families.keys()].sort());
  for (const [name, family] of text.families) assert.equal(body[name].type, family.type, name);
});

test("GET /proxy/status: 200 with a one-line text body", async () => {
  const r = await httpRequest(`${base}/proxy/status`);
  assert.equal(r.status, 200);
  assert.match(r.headers["content-type"], /^text\/plain/);
  assert.equal(r.body, "KumoProxy OK", "the body KumoProxy answers");
});

test("GET /api/check-liveness/v1: 200 ok while every proxy listener accepts", async () => {
  const r = await httpRequest(`${base}/api/check-liveness/v1`);
  assert.equal(r.status, 200);
  assert.match(r.headers["content-type"], /^text\/plain/);
  assert.equal(r.body, "ok\n");
});

test("GET /api/status/v1: product, version, build, runtime, status, ISO 8601 start, uptime; no host details by default", async () => {
  const r = await httpRequest(`${base}/api/status/v1`);
  assert.equal(r.status, 200);
  assert.match(r.headers["content-type"], /^application\/json/);
  const body = JSON.parse(r.body);
  assert.deepEqual(Object.keys(body), [
    "product",
    "version",
    "build",
    "runtime",
    "status",
    "started_at",
    "uptime_seconds",
  ]);
  assert.equal(body.product, "proxy-server");
  assert.equal(body.version, VERSION);
  assert.equal(body.build, "source", "run from source");
  assert.match(body.runtime, new RegExp(`^${runtime} \\d+\\.\\d+`));
  assert.equal(body.status, "operational");
  assert.match(body.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const started = Date.parse(body.started_at);
  assert.ok(started <= Date.now() && started > Date.now() - 600_000);
  assert.ok(typeof body.uptime_seconds === "number" && body.uptime_seconds >= 0);
});

test("GET /api/status/v1 with expose_system_info: host name, kernel and architecture too", async () => {
  const r = await httpRequest(`http://[::1]:${proxy.httpPorts[1]}/api/status/v1`);
  assert.equal(r.status, 200);
  const body = JSON.parse(r.body);
  assert.equal(body.system.hostname, hostname());
  assert.equal(typeof body.system.kernel, "string");
  assert.ok(body.system.kernel.length > 0);
  assert.match(body.system.architecture, /^(x64|arm64|arm|ia32|ppc64|s390x|riscv64|loong64)$/);
});

test("POST /api/admin/set_diagnostic_log_filter/v1 answers JSON; a bad body gets 400 JSON", async () => {
  const url = `${base}/api/admin/set_diagnostic_log_filter/v1`;
  const json = { "content-type": "application/json" };
  const ok = await httpRequest(url, { method: "POST", headers: json, body: '{"filter":"proxy_server=info"}' });
  assert.equal(ok.status, 200, ok.body);
  assert.match(ok.headers["content-type"], /^application\/json/);
  assert.deepEqual(JSON.parse(ok.body), { filter: "proxy_server=info", previous: "proxy_server=info" });
  for (const body of ['{"filter":"proxy_server=loud"}', '{"level":"debug"}', "{not json", '{"filter":7}']) {
    const bad = await httpRequest(url, { method: "POST", headers: json, body });
    assert.equal(bad.status, 400, body);
    assert.match(bad.headers["content-type"], /^application\/json/);
    assert.equal(typeof JSON.parse(bad.body).error, "string", body);
  }
});

test("unknown paths get 404", async () => {
  const r = await httpRequest(`${base}/nope`);
  assert.equal(r.status, 404);
});

test("GET /api-docs/openapi.json: OpenAPI 3.1 listing every route, byte-identical to --dump-openapi-spec", async () => {
  const r = await httpRequest(`${base}/api-docs/openapi.json`);
  assert.equal(r.status, 200);
  assert.match(r.headers["content-type"], /^application\/json/);
  const dump = await runCli(["--dump-openapi-spec"]);
  assert.equal(dump.code, 0, dump.stderr);
  assert.equal(dump.stdout, r.body);
  const doc = JSON.parse(r.body);
  assert.equal(doc.openapi, "3.1.0");
  const valid = await validate(doc);
  assert.deepEqual(valid.errors, [], "a valid OpenAPI 3.1 document");
  assert.equal(valid.valid, true);
  assert.equal(doc.info.title, "proxy-server HTTP API");
  assert.deepEqual(
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((m) => `${m.toUpperCase()} ${path}`)
    ).sort(),
    [
      "DELETE /api/admin/egress/sources/{name}/suspend/v1",
      "GET /api-docs/openapi.json",
      "GET /api/admin/egress/sources/v1",
      "GET /api/check-liveness/v1",
      "GET /api/status/v1",
      "GET /metrics",
      "GET /metrics.json",
      "GET /proxy/status",
      "GET /rapidoc",
      "GET /rapidoc/scalar.js",
      "POST /api/admin/egress/sources/{name}/suspend/v1",
      "POST /api/admin/set_diagnostic_log_filter/v1",
    ],
  );
  // The request and response schemas come from the valibot schemas.
  const post = doc.paths["/api/admin/set_diagnostic_log_filter/v1"].post;
  assert.deepEqual(post.requestBody.content["application/json"].schema.required, ["filter"]);
  const suspend = doc.paths["/api/admin/egress/sources/{name}/suspend/v1"].post;
  assert.deepEqual(suspend.parameters.map((p: { in: string; name: string }) => `${p.in} ${p.name}`), ["path name"]);
  assert.deepEqual(suspend.requestBody.content["application/json"].schema.required, ["duration"]);
  assert.deepEqual(Object.keys(suspend.responses).sort(), ["200", "400", "401", "403", "404", "413"]);
  // Every admin route declares both security schemes (the docs page then offers a token field); the rest none.
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ["basic", "bearer"]);
  assert.deepEqual(doc.components.securitySchemes.bearer, {
    type: "http",
    scheme: "bearer",
    description: doc.components.securitySchemes.bearer.description,
  });
  assert.equal(doc.components.securitySchemes.basic.scheme, "basic");
  for (
    const [path, item] of Object.entries(
      doc.paths as Record<
        string,
        Record<string, { security?: unknown; responses: Record<string, { headers?: Record<string, unknown> }> }>
      >,
    )
  ) {
    for (const [method, op] of Object.entries(item)) {
      if (path.startsWith("/api/admin/")) {
        assert.deepEqual(op.security, [{ bearer: [] }, { basic: [] }], `${method} ${path}`);
        assert.ok(op.responses["401"].headers?.["WWW-Authenticate"], `${method} ${path} documents its 401`);
      } else {
        assert.equal(op.security, undefined, `${method} ${path} needs no credentials`);
      }
    }
  }
  // /metrics offers both exposition formats.
  assert.deepEqual(Object.keys(doc.paths["/metrics"].get.responses["200"].content).sort(), [
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
    "text/plain; version=0.0.4; charset=utf-8",
  ]);
  const status = doc.paths["/api/status/v1"].get.responses["200"].content["application/json"].schema;
  assert.equal(status.properties.started_at.format, "date-time");
  assert.deepEqual(status.properties.status.enum, ["starting", "operational", "stopping"]);
  assert.equal(doc.paths["/api/check-liveness/v1"].get.responses["503"].content["text/plain"].schema.type, "string");
});

test("GET /rapidoc: an HTML page that loads the Scalar bundle from this listener, not a CDN", async () => {
  const page = await httpRequest(`${base}/rapidoc`);
  assert.equal(page.status, 200);
  assert.match(page.headers["content-type"], /^text\/html/);
  assert.match(page.body, /<title>proxy-server HTTP API<\/title>/);
  const scripts = [...page.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(scripts, ["/rapidoc/scalar.js"]);
  assert.doesNotMatch(page.body, /https?:\/\//, "nothing is loaded from another host");
  const bundle = await httpRequest(`${base}/rapidoc/scalar.js`);
  assert.equal(bundle.status, 200);
  assert.match(bundle.headers["content-type"], /^text\/javascript/);
  assert.ok(bundle.body.length > 1_000_000);
  assert.match(bundle.body, /createApiReference/);
});

test("--dump-metric-metadata lists name, type, help and labels of every metric /metrics exposes", async () => {
  const dump = await runCli(["--dump-metric-metadata"]);
  assert.equal(dump.code, 0, dump.stderr);
  const meta = JSON.parse(dump.stdout) as { name: string; type: string; help: string; labels: string[] }[];
  const byName = new Map(meta.map((m) => [m.name, m]));
  assert.deepEqual(byName.get("proxy_outbound_connections_total"), {
    name: "proxy_outbound_connections_total",
    type: "counter",
    help: byName.get("proxy_outbound_connections_total")?.help,
    labels: ["listener", "destination"],
  });
  const { families } = parseExposition((await httpRequest(`${base}/metrics`)).body);
  for (const [name, family] of families) {
    assert.equal(byName.get(name)?.type, family.type, `${name} is in the metadata with its type`);
    assert.equal(byName.get(name)?.help, family.help, `${name} has the same help`);
  }
});
