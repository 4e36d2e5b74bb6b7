// The metrics module in process: the declared table becomes a registry whose
// exposition promtool accepts, session events land in the right series, and
// the outbound-destination cap drops the least recently used series.
import { test } from "node:test";
import assert from "node:assert/strict";
import { METRICS, MetricsObserver, ProxyMetrics } from "../../src/metrics/index.ts";
import { parseExposition, promtoolCheck, sample } from "../helpers/prometheus.ts";

const runtime = { name: "Deno" in globalThis ? "deno" : "bun", version: "1.2.3" };

test("every declared metric is in the exposition with its type and help; promtool accepts it", async () => {
  const metrics = new ProxyMetrics({ version: "9.8.7", runtime });
  new MetricsObserver(metrics, { listeners: ["127.0.0.1:1080"], maxOutboundDestinations: 10 });
  const text = await metrics.exposition("prometheus");
  const families = parseExposition(text).families;
  for (const [name, d] of Object.entries(METRICS)) {
    assert.equal(families.get(name)?.type, d.type, `${name} has # TYPE ${d.type}`);
    assert.equal(families.get(name)?.help, d.help, `${name} has its # HELP`);
  }
  assert.ok(families.has("process_start_time_seconds"), "prom-client's process metrics are collected");
  assert.ok(!families.has("nodejs_active_handles_total"), "gauges named _total are left out");
  const check = await promtoolCheck(text);
  assert.equal(check.code, 0, check.output);
  assert.equal(
    sample(text, "proxy_build_info", {
      version: "9.8.7",
      commit: "source",
      build_date: "",
      runtime: runtime.name,
      runtime_version: "1.2.3",
    }),
    1,
  );
  const stamped = new ProxyMetrics({
    version: "9.8.7",
    runtime,
    processMetrics: false,
    build: { commit: "097f67f", date: "2026-12-01T13:56:29Z" },
  });
  const labels = {
    version: "9.8.7",
    commit: "097f67f",
    build_date: "2026-12-01T13:56:29Z",
    runtime: runtime.name,
    runtime_version: "1.2.3",
  };
  assert.equal(sample(await stamped.registry.metrics(), "proxy_build_info", labels), 1, "a build stamp becomes labels");
});

test("configured listeners' series exist at 0 before any traffic", async () => {
  const metrics = new ProxyMetrics({ version: "1", runtime, processMetrics: false });
  new MetricsObserver(metrics, { listeners: ["[::1]:1080"], maxOutboundDestinations: 10 });
  const text = await metrics.registry.metrics();
  for (
    const name of ["proxy_connections_accepted_total", "proxy_active_connections", "proxy_bytes_dest_to_client_total"]
  ) {
    assert.equal(sample(text, name, { listener: "[::1]:1080" }), 0, name);
  }
  assert.equal(sample(text, "proxy_handshake_duration_seconds_count", { listener: "[::1]:1080" }), 0);
});

test("session events update the listener's counters, gauge and histogram", async () => {
  const metrics = new ProxyMetrics({ version: "1", runtime, processMetrics: false });
  const o = new MetricsObserver(metrics, { listeners: ["a:1"], maxOutboundDestinations: 10 });
  o.accepted("a:1");
  o.accepted("a:1");
  o.handshakeDone("a:1", 0.02);
  o.outbound("a:1", "10.0.0.1:25");
  o.relayed("a:1", "client_to_dest", 100);
  o.relayed("a:1", "client_to_dest", 23);
  o.relayed("a:1", "dest_to_client", 7);
  o.completed("a:1");
  o.closed("a:1");
  o.authFailed("a:1");
  o.failed("a:1", "auth");
  o.tlsHandshakeFailed("a:1");
  o.accepted("b:2"); // a listener not configured up front still gets its series
  const text = await metrics.registry.metrics();
  const a = { listener: "a:1" };
  assert.equal(sample(text, "proxy_connections_accepted_total", a), 2);
  assert.equal(sample(text, "proxy_active_connections", a), 1);
  assert.equal(sample(text, "proxy_bytes_client_to_dest_total", a), 123);
  assert.equal(sample(text, "proxy_bytes_dest_to_client_total", a), 7);
  assert.equal(sample(text, "proxy_connections_completed_total", a), 1);
  assert.equal(sample(text, "proxy_connections_failed_total", a), 2);
  assert.equal(sample(text, "proxy_auth_failures_total", a), 1);
  assert.equal(sample(text, "proxy_tls_handshake_failures_total", a), 1);
  assert.equal(sample(text, "proxy_handshake_duration_seconds_count", a), 1);
  assert.equal(sample(text, "proxy_handshake_duration_seconds_sum", a), 0.02);
  assert.equal(sample(text, "proxy_handshake_duration_seconds_bucket", { ...a, le: "0.025" }), 1);
  assert.equal(sample(text, "proxy_handshake_duration_seconds_bucket", { ...a, le: "0.01" }), 0);
  assert.equal(sample(text, "proxy_outbound_connections_total", { ...a, destination: "10.0.0.1:25" }), 1);
  assert.equal(sample(text, "proxy_active_connections", { listener: "b:2" }), 1);
});

test("the outbound destination cap keeps the most recently used series", async () => {
  const metrics = new ProxyMetrics({ version: "1", runtime, processMetrics: false });
  const o = new MetricsObserver(metrics, { listeners: ["l"], maxOutboundDestinations: 3 });
  for (const d of ["a:1", "b:1", "c:1", "a:1", "d:1", "e:1"]) o.outbound("l", d);
  const text = await metrics.registry.metrics();
  const series = parseExposition(text).samples.filter((s) => s.name === "proxy_outbound_connections_total");
  assert.deepEqual(series.map((s) => [s.labels.destination, s.value]).sort(), [["a:1", 2], ["d:1", 1], ["e:1", 1]]);
  assert.equal(sample(text, "proxy_outbound_destinations_evicted_total", {}), 2);
});

test("the outbound cap evicts the least recently used series, not the oldest inserted; the cap is at least 1", async () => {
  const metrics = new ProxyMetrics({ version: "1", runtime, processMetrics: false });
  const o = new MetricsObserver(metrics, { listeners: ["l"], maxOutboundDestinations: 2 });
  const kept = async () =>
    parseExposition(await metrics.registry.metrics()).samples
      .filter((s) => s.name === "proxy_outbound_connections_total").map((s) => s.labels.destination).sort();
  for (const d of ["a", "b", "a", "c"]) o.outbound("l", d);
  assert.deepEqual(await kept(), ["a", "c"]);
  o.outbound("l", "d");
  assert.deepEqual(await kept(), ["c", "d"]);
  assert.equal(sample(await metrics.registry.metrics(), "proxy_outbound_destinations_evicted_total", {}), 2);
  for (const bad of [0, 1.5]) {
    assert.throws(() => new MetricsObserver(metrics, { listeners: [], maxOutboundDestinations: bad }), RangeError);
  }
});

test("metadata lists every metric with name, type, help and labels", async () => {
  const metrics = new ProxyMetrics({ version: "1", runtime });
  const meta = await metrics.metadata();
  const byName = new Map(meta.map((m) => [m.name, m]));
  for (const [name, d] of Object.entries(METRICS)) {
    assert.deepEqual(byName.get(name), { name, type: d.type, help: d.help, labels: [...d.labels] });
  }
  assert.equal(byName.get("process_start_time_seconds")?.type, "gauge");
  // V8's heap spaces exist on Deno only (Bun's JavaScriptCore has none).
  if (runtime.name === "deno") assert.deepEqual(byName.get("nodejs_heap_space_size_used_bytes")?.labels, ["space"]);
  else assert.equal(byName.get("nodejs_heap_space_size_used_bytes"), undefined);
});
