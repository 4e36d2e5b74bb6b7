// Metrics of a running proxy-server after real traffic: a tunnel through the
// proxy moves every proxy metric with the listener label and exact byte
// counts, a bad handshake and a wrong password count as failures, promtool
// accepts the live exposition, and the outbound destination cap holds.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";
import { parseExposition, promtoolCheck, sample, scrapeUntil as scrapeUntilReady } from "../helpers/prometheus.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { VERSION } from "../../src/cli/version.ts";
import { METRICS } from "../../src/metrics/index.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";

let proxy: RunningProxy;
let echo: EchoTarget;
/** The `listener` label: the bound address, with the real port (set once bound). */
let LISTENER: string;
const runtime = "Deno" in globalThis ? "deno" : "bun";

before(async () => {
  echo = await startEchoTarget();
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    users: [{ username: "alice", password: "wonderland" }],
  });
  LISTENER = `127.0.0.1:${proxy.ports[0]}`;
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
});

const scrape = async () => (await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/metrics`)).body;

/** Scrape until `ready(text)` holds. */
const scrapeUntil = (ready: (text: string) => boolean) =>
  scrapeUntilReady(`http://127.0.0.1:${proxy.httpPorts[0]}/metrics`, ready);

/** Counter value for the listener, 0 when the series is absent. */
const at = (text: string, name: string, labels: Record<string, string> = {}) =>
  sample(text, name, { listener: LISTENER, ...labels }) ?? 0;

/** Open a SOCKS5 no-auth tunnel to `port` on 127.0.0.1. */
async function tunnel(port: number) {
  const c = await rawConnect(proxy.ports[0]);
  c.send([5, 1, 0]);
  assert.deepEqual([...await c.read(2)], [5, 0]);
  c.send(ipv4Request(1, "127.0.0.1", port));
  assert.equal((await c.read(10))[1], 0, "CONNECT succeeded");
  return c;
}

test("a tunnel moves every proxy metric: accepted, completed, bytes both ways, outbound, handshake time; active back to 0", async () => {
  const before = await scrape();
  const c = await tunnel(echo.port);
  const payload = new Uint8Array(100_000).map((_, i) => i % 251);
  c.send(payload);
  const back = await c.read(payload.length);
  assert.deepEqual(back, payload);
  // While the tunnel is open the active gauge counts it, and the bytes already show.
  const during = await scrapeUntil((t) =>
    at(t, "proxy_bytes_dest_to_client_total") - at(before, "proxy_bytes_dest_to_client_total") === 100_000
  );
  assert.equal(at(during, "proxy_active_connections"), 1);
  assert.equal(
    at(during, "proxy_bytes_client_to_dest_total") - at(before, "proxy_bytes_client_to_dest_total"),
    100_000,
  );
  c.send([1, 2, 3]);
  assert.deepEqual([...await c.read(3)], [1, 2, 3]);
  c.socket.end();
  await c.readUntilClose();
  const text = await scrapeUntil((t) =>
    at(t, "proxy_active_connections") === 0 &&
    at(t, "proxy_connections_completed_total") > at(before, "proxy_connections_completed_total")
  );
  const delta = (name: string, labels: Record<string, string> = {}) =>
    at(text, name, labels) - at(before, name, labels);
  assert.equal(delta("proxy_connections_accepted_total"), 1);
  assert.equal(delta("proxy_connections_completed_total"), 1);
  assert.equal(delta("proxy_connections_failed_total"), 0);
  assert.equal(at(text, "proxy_active_connections"), 0);
  assert.equal(delta("proxy_bytes_client_to_dest_total"), 100_003);
  assert.equal(delta("proxy_bytes_dest_to_client_total"), 100_003);
  assert.equal(delta("proxy_outbound_connections_total", { destination: `127.0.0.1:${echo.port}` }), 1);
  assert.equal(delta("proxy_handshake_duration_seconds_count"), 1);
  assert.ok(delta("proxy_handshake_duration_seconds_sum") > 0);
  assert.equal(delta("proxy_handshake_duration_seconds_bucket", { le: "+Inf" }), 1);
  assert.equal(sample(text, "proxy_tls_handshake_failures_total", { listener: LISTENER }), 0, "present, at 0");
  // Every declared proxy metric has a series labelled with this listener.
  const { samples } = parseExposition(text);
  for (const [name, d] of Object.entries(METRICS)) {
    if (!(d.labels as readonly string[]).includes("listener")) continue;
    assert.ok(
      samples.some((s) => s.name.startsWith(name) && s.labels.listener === LISTENER),
      `${name}{listener="${LISTENER}"}`,
    );
  }
  const build = parseExposition(text).samples.filter((s) => s.name === "proxy_build_info");
  assert.equal(build.length, 1);
  assert.equal(build[0].value, 1);
  assert.equal(build[0].labels.version, VERSION);
  assert.equal(build[0].labels.commit, "source", "run from source");
  assert.equal(build[0].labels.build_date, "", "no build date from source");
  assert.equal(build[0].labels.runtime, runtime);
  assert.match(build[0].labels.runtime_version, /^\d+\.\d+\.\d+/);
  const start = sample(text, "process_start_time_seconds", {});
  // prom-client rounds the start time to whole seconds, hence the 1 s of slack.
  const now = Date.now() / 1000;
  assert.ok(
    start !== undefined && start <= now + 1 && start > now - 600,
    `process start time ${start} is recent (now ${now})`,
  );
});

test("a bad handshake counts as failed; active goes back to 0", async () => {
  const before = await scrape();
  const c = await rawConnect(proxy.ports[0]);
  c.send([4, 1, 0, 80, 127, 0, 0, 1, 0]); // SOCKS4
  await c.readUntilClose();
  const text = await scrapeUntil((t) =>
    at(t, "proxy_connections_failed_total") > at(before, "proxy_connections_failed_total") &&
    at(t, "proxy_active_connections") === 0
  );
  assert.equal(at(text, "proxy_connections_failed_total") - at(before, "proxy_connections_failed_total"), 1);
  assert.equal(at(text, "proxy_connections_accepted_total") - at(before, "proxy_connections_accepted_total"), 1);
  assert.equal(at(text, "proxy_auth_failures_total") - at(before, "proxy_auth_failures_total"), 0);
  assert.equal(at(text, "proxy_active_connections"), 0);
});

test("a wrong password counts as an auth failure and a failed session", async () => {
  const before = await scrape();
  const c = await rawConnect(proxy.ports[0]);
  c.send([5, 1, 2]);
  assert.deepEqual([...await c.read(2)], [5, 2]);
  const user = new TextEncoder().encode("alice");
  const pass = new TextEncoder().encode("wrong");
  c.send([1, user.length, ...user, pass.length, ...pass]);
  assert.deepEqual([...await c.read(2)], [1, 1], "RFC 1929 failure status");
  await c.readUntilClose();
  const text = await scrapeUntil((t) =>
    at(t, "proxy_auth_failures_total") > at(before, "proxy_auth_failures_total") &&
    at(t, "proxy_active_connections") === 0
  );
  assert.equal(at(text, "proxy_auth_failures_total") - at(before, "proxy_auth_failures_total"), 1);
  assert.equal(at(text, "proxy_connections_failed_total") - at(before, "proxy_connections_failed_total"), 1);
});

test("promtool check metrics accepts the live exposition", async () => {
  const c = await tunnel(echo.port);
  c.close();
  const text = await scrape();
  assert.ok(text.includes("proxy_outbound_connections_total{"), "labelled series are present");
  const check = await promtoolCheck(text);
  assert.equal(check.code, 0, check.output);
  assert.equal(check.output, "");
});

test("the outbound destination cap holds with more destinations than the cap, dropping the least recently used", async () => {
  const targets = await Promise.all(Array.from({ length: 5 }, () => startEchoTarget()));
  const capped = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    metrics: { max_outbound_destinations: 3 },
  });
  const LISTENER = `127.0.0.1:${capped.ports[0]}`;
  try {
    const use = async (t: EchoTarget) => {
      const c = await rawConnect(capped.ports[0]);
      c.send([5, 1, 0]);
      await c.read(2);
      c.send(ipv4Request(1, "127.0.0.1", t.port));
      assert.equal((await c.read(10))[1], 0);
      c.close();
    };
    const [a, b, c, d, e] = targets;
    for (const t of [a, b, c, a, d, e, a]) await use(t);
    const text = (await httpRequest(`http://127.0.0.1:${capped.httpPorts[0]}/metrics`)).body;
    const series = parseExposition(text).samples
      .filter((s) => s.name === "proxy_outbound_connections_total")
      .map((s) => [s.labels.listener, s.labels.destination, s.value])
      .sort();
    assert.deepEqual(
      series,
      [
        [LISTENER, `127.0.0.1:${a.port}`, 3],
        [LISTENER, `127.0.0.1:${d.port}`, 1],
        [LISTENER, `127.0.0.1:${e.port}`, 1],
      ].sort(),
    );
    assert.equal(sample(text, "proxy_outbound_destinations_evicted_total", {}), 2);
    assert.equal(
      sample(text, "proxy_connections_accepted_total", { listener: LISTENER }),
      7,
      "the other metrics still count everything",
    );
  } finally {
    await capped.stop();
    await Promise.all(targets.map((t) => t.close()));
  }
});
