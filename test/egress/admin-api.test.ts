// The egress admin API and metrics of a running proxy-server, with real
// processes on loopback: client -> proxy-server (egress_pool) -> a second
// proxy-server honouring BIND (sources a = 127.0.0.2, b = 127.0.0.3) ->
// echo target, plus a source whose upstream is a closed port. The API lists,
// suspends and clears; the effect shows in which source the pool uses and in
// /metrics (checked with an independent parser and promtool).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { SourceStatus } from "../../src/egress/index.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest, type HttpResponse } from "../helpers/http.ts";
import { closedPort } from "../helpers/peers.ts";
import { promtoolCheck, sample, scrapeUntil } from "../helpers/prometheus.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { openTunnel, tunnel } from "./helpers.ts";

let echo: EchoTarget;
let upstream: RunningProxy;
let proxy: RunningProxy;
let api: string;

before(async () => {
  echo = await startEchoTarget();
  upstream = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  const closed = await closedPort();
  const viaUpstream = (address: string) => ({
    socks5_proxy_server: `127.0.0.1:${upstream.ports[0]}`,
    socks5_proxy_source_address: address,
  });
  proxy = await startProxy({
    proxy_listeners: [
      { listen: "127.0.0.1:0", egress_pool: "p" },
      { listen: "127.0.0.1:0", egress_pool: "broken" },
    ],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    sources: {
      a: viaUpstream("127.0.0.2"),
      b: viaUpstream("127.0.0.3"),
      // No suspend rule: its failures are counted, it is never suspended.
      bad: { socks5_proxy_server: `127.0.0.1:${closed}` },
    },
    pools: { p: { entries: [{ name: "a" }, { name: "b" }] }, broken: { entries: [{ name: "bad" }] } },
  });
  api = `http://127.0.0.1:${proxy.httpPorts[0]}/api/admin/egress/sources`;
});

after(async () => {
  await proxy?.stop();
  await upstream?.stop();
  await echo?.close();
});

const json = <T>(r: HttpResponse): T => {
  assert.match(r.headers["content-type"], /^application\/json/, r.body);
  return JSON.parse(r.body) as T;
};

async function list(): Promise<SourceStatus[]> {
  const r = await httpRequest(`${api}/v1`);
  assert.equal(r.status, 200, r.body);
  return json<{ sources: SourceStatus[] }>(r).sources;
}

const status = async (name: string) => (await list()).find((s) => s.name === name);

function suspend(name: string, body: unknown): Promise<HttpResponse> {
  return httpRequest(`${api}/${name}/suspend/v1`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const clear = (name: string) => httpRequest(`${api}/${name}/suspend/v1`, { method: "DELETE" });

const metricsUrl = () => `http://127.0.0.1:${proxy.httpPorts[0]}/metrics`;
const scrape = async () => (await httpRequest(metricsUrl())).body;

/** A sample's value; 0 when the series is absent. */
const at = (text: string, name: string, labels: Record<string, string>) => sample(text, name, labels) ?? 0;

/** Open `n` tunnels through pool p one after another; resolves with the source address the target saw for each. */
async function throughPool(n: number): Promise<string[]> {
  const first = echo.peers.length;
  for (let i = 0; i < n; i++) assert.equal(await tunnel(proxy.ports[0], echo.port), 0, `tunnel ${i}`);
  return echo.peers.slice(first);
}

test("GET /api/admin/egress/sources/v1 lists every source in config order with its state; the egress series exist from the start", async () => {
  const sources = await list();
  assert.deepEqual(sources.map((s) => s.name), ["a", "b", "bad"]);
  for (const s of sources) {
    assert.deepEqual(s, {
      name: s.name,
      kind: "socks5",
      healthy: true,
      suspended: false,
      reason: null,
      remaining_seconds: null,
      active_connections: 0,
      failures_in_window: 0,
      window_seconds: 300,
      health_check: false,
    });
  }
  const text = await scrape();
  for (const source of ["a", "b", "bad"]) {
    assert.equal(sample(text, "egress_source_healthy", { source }), 1, `healthy{${source}}`);
    assert.equal(sample(text, "egress_source_connections_total", { source }), 0, `connections{${source}}`);
    assert.equal(sample(text, "egress_source_active_connections", { source }), 0, `active{${source}}`);
    for (const kind of ["ProxyUnhealthy", "Unplumbed"]) {
      assert.equal(
        sample(text, "egress_source_connection_failures_total", { source, kind }),
        0,
        `failures{${source},${kind}}`,
      );
    }
  }
});

test("a hand-suspended source is skipped by the pool and shows in the metrics; DELETE brings it back", async () => {
  const before = await scrape();
  const r = await suspend("a", { duration: "10m", reason: "maintenance" });
  assert.equal(r.status, 200, r.body);
  const body = json<SourceStatus>(r);
  assert.equal(body.name, "a");
  assert.equal(body.suspended, true);
  assert.equal(body.healthy, false);
  assert.equal(body.reason, "maintenance");
  assert.ok(
    body.remaining_seconds !== null && body.remaining_seconds > 0 && body.remaining_seconds <= 600,
    `remaining ${body.remaining_seconds}`,
  );
  const listed = await status("a");
  assert.deepEqual({ ...listed, remaining_seconds: 0 }, { ...body, remaining_seconds: 0 }, "the listing agrees");
  await proxy.waitForLog(/WARN.*egress source a suspended by an operator for 600s \(maintenance\)/);

  const suspended = await scrape();
  assert.equal(sample(suspended, "egress_source_health_suspended", { source: "a", reason: "maintenance" }), 1);
  assert.equal(
    at(suspended, "egress_source_health_suspensions_total", { source: "a", reason: "maintenance" }) -
      at(before, "egress_source_health_suspensions_total", { source: "a", reason: "maintenance" }),
    1,
  );
  assert.equal(sample(suspended, "egress_source_healthy", { source: "a" }), 0);
  assert.equal(sample(suspended, "egress_source_healthy", { source: "b" }), 1);

  // While a is suspended every tunnel leaves through b, with no client-visible error.
  assert.deepEqual(await throughPool(6), Array(6).fill("127.0.0.3"));
  const during = await scrape();
  const delta = (text: string, source: string) =>
    at(text, "egress_source_connections_total", { source }) - at(before, "egress_source_connections_total", { source });
  assert.equal(delta(during, "a"), 0);
  assert.equal(delta(during, "b"), 6);

  // Suspending again for another reason replaces the reason: old gauge 0, new gauge 1, counted once.
  assert.equal((await suspend("a", { duration: "10m", reason: "other" })).status, 200);
  const replaced = await scrape();
  assert.equal(sample(replaced, "egress_source_health_suspended", { source: "a", reason: "maintenance" }), 0);
  assert.equal(sample(replaced, "egress_source_health_suspended", { source: "a", reason: "other" }), 1);
  assert.equal(at(replaced, "egress_source_health_suspensions_total", { source: "a", reason: "other" }), 1);

  const cleared = await clear("a");
  assert.equal(cleared.status, 200, cleared.body);
  assert.deepEqual(
    (({ suspended, reason, remaining_seconds, healthy }) => ({ suspended, reason, remaining_seconds, healthy }))(
      json<SourceStatus>(cleared),
    ),
    { suspended: false, reason: null, remaining_seconds: null, healthy: true },
  );
  await proxy.waitForLog(/INFO.*egress source a suspension cleared by an operator \(other\)/);
  const after = await scrape();
  assert.equal(sample(after, "egress_source_health_suspended", { source: "a", reason: "other" }), 0);
  assert.equal(sample(after, "egress_source_healthy", { source: "a" }), 1);
  assert.equal(
    at(after, "egress_source_health_suspensions_total", { source: "a", reason: "maintenance" }) -
      at(before, "egress_source_health_suspensions_total", { source: "a", reason: "maintenance" }),
    1,
    "clearing does not count",
  );

  // Back in the pool: equal weights share the next tunnels evenly again.
  const seen = await throughPool(6);
  assert.equal(seen.filter((p) => p === "127.0.0.2").length, 3, JSON.stringify(seen));
  assert.equal(seen.filter((p) => p === "127.0.0.3").length, 3, JSON.stringify(seen));
  const end = await scrape();
  assert.equal(delta(end, "a"), 3);
  assert.equal(delta(end, "b"), 9);
});

test("an open tunnel counts in egress_source_active_connections and the listing; closing it brings both back to 0", async () => {
  const { rep, client } = await openTunnel(proxy.ports[0], echo.port);
  assert.equal(rep, 0);
  const source = echo.peers.at(-1) === "127.0.0.2" ? "a" : "b";
  const open = await scrapeUntil(metricsUrl(), (t) => sample(t, "egress_source_active_connections", { source }) === 1);
  assert.equal(sample(open, "egress_source_active_connections", { source }), 1);
  assert.equal((await status(source))?.active_connections, 1);
  client.socket.end();
  await client.readUntilClose();
  const closed = await scrapeUntil(
    metricsUrl(),
    (t) => sample(t, "egress_source_active_connections", { source }) === 0,
  );
  assert.equal(sample(closed, "egress_source_active_connections", { source }), 0);
  assert.equal((await status(source))?.active_connections, 0);
});

test("a proxy failure counts in egress_source_connection_failures_total{kind} and in the listing's failures_in_window", async () => {
  const before = await scrape();
  const failuresBefore = (await status("bad"))?.failures_in_window ?? -1;
  assert.equal(await tunnel(proxy.ports[1], echo.port), 0x01, "the client gets a general failure");
  const text = await scrape();
  const delta = (kind: string) =>
    at(text, "egress_source_connection_failures_total", { source: "bad", kind }) -
    at(before, "egress_source_connection_failures_total", { source: "bad", kind });
  assert.equal(delta("ProxyUnhealthy"), 1);
  assert.equal(delta("Unplumbed"), 0);
  assert.equal(sample(text, "egress_source_connections_total", { source: "bad" }), 0, "no connection was established");
  const bad = await status("bad");
  assert.equal(bad?.failures_in_window, failuresBefore + 1);
  assert.equal(bad?.suspended, false, "no suspend rule, no suspension");
  assert.equal(sample(text, "egress_source_healthy", { source: "bad" }), 1);
});

test("an unknown source gets 404; a bad body gets 400 and suspends nothing", async () => {
  for (const r of [await suspend("nope", { duration: "1m" }), await clear("nope")]) {
    assert.equal(r.status, 404, r.body);
    assert.deepEqual(json(r), { error: 'unknown egress source "nope"' });
  }
  const before = await scrape();
  const bad: [unknown, RegExp][] = [
    [{ duration: "soon" }, /^duration: expected a duration such as "60s"/],
    [{ duration: "0s" }, /duration must be a positive number of seconds, got 0/],
    [{ duration: 600 }, /^duration: expected a duration/],
    [{}, /^duration: /],
    [{ duration: "1m", reason: "two words" }, /^reason: expected 1 to 64 letters/],
    [{ duration: "1m", until: "tomorrow" }, /until/],
    ["{not json", /./],
  ];
  for (const [body, error] of bad) {
    const r = await suspend("a", body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
    assert.match(json<{ error: string }>(r).error, error, JSON.stringify(body));
  }
  assert.equal((await status("a"))?.suspended, false);
  const text = await scrape();
  assert.equal(sample(text, "egress_source_healthy", { source: "a" }), 1);
  const suspensions = (t: string) =>
    [...t.matchAll(/^egress_source_health_suspensions_total\{[^}]*source="a"[^}]*\} (\d+)/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  assert.equal(suspensions(text), suspensions(before));
});

test("promtool check metrics accepts the exposition with egress series for every source, failure kind and reason", async () => {
  const text = await scrape();
  for (
    const family of [
      "egress_source_health_suspended{",
      "egress_source_health_suspensions_total{",
      "egress_source_connection_failures_total{",
    ]
  ) {
    assert.ok(text.includes(family), family);
  }
  const check = await promtoolCheck(text);
  assert.equal(check.code, 0, check.output);
  assert.equal(check.output, "");
});
