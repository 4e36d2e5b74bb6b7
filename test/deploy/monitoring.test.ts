// deploy/grafana and deploy/prometheus: the alerting rules pass `promtool
// check rules` and their unit tests (`promtool test rules`); and against a
// real Prometheus scraping a real proxy-server (from source) that carried a
// few tunnels, a refused CONNECT, a failed handshake and a suspension, every
// expression of every dashboard panel and variable returns data, and every
// alert expression evaluates without error on metric selectors that each
// return data, so no panel or alert rests on a name that does not exist.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { ROOT, startProxy } from "../helpers/proxy-process.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { startEchoTarget } from "../helpers/target.ts";
import { closedPort } from "../helpers/peers.ts";
import { startPrometheus } from "../helpers/prometheus-server.ts";
import { startRedis } from "../helpers/redis.ts";
import { dashboard as generate } from "../../deploy/grafana/dashboard.mjs";

const RULES = join(ROOT, "deploy/prometheus/alerts.yml");
/** The parts of a Grafana panel the checks read. */
interface Panel {
  id: number;
  title: string;
  gridPos: { x: number; w: number };
  targets?: { expr: string }[];
  panels?: Panel[];
}
/** The parts of the dashboard the checks read. */
interface Dashboard {
  panels: Panel[];
  templating: { list: { type: string; name: string; query: { query: string } }[] };
}
/** An alerting rule as alerts.yml writes it. */
interface Rule {
  alert: string;
  expr: string;
}
const dashboard: Dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/proxy-server.json"), "utf8"));
const rules: Rule[] = (parseYaml(readFileSync(RULES, "utf8")) as { groups: { rules: Rule[] }[] }).groups
  .flatMap((g) => g.rules);

function promtool(args: string[], cwd = ROOT): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      "promtool",
      args,
      { cwd, timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: stdout + stderr }),
    );
  });
}

/** Every panel target (rows included, in case one is collapsed) as [panel title, expr]. */
function panelExprs(): [string, string][] {
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return panels.flatMap((p) => (p.targets ?? []).map((t): [string, string] => [p.title, t.expr]));
}

/** Grafana's variables as Prometheus sees them once chosen: every job, instance, listener and source. */
function substitute(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "15s")
    .replaceAll("$__range", "1m")
    .replaceAll("$job", "proxy-server")
    .replace(/\$(instance|listener|source)\b/g, ".*");
}

/**
 * The metric selectors (`name` or `name{matchers}`) of a PromQL expression:
 * names not followed by `(` (functions), with grouping clauses, ranges and
 * keywords left out.
 */
export function metricSelectors(expr: string): string[] {
  const text = expr
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  const out = new Set<string>();
  for (const m of text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?/g)) {
    if (m[3] || /^(and|or|unless|bool|offset)$/.test(m[1])) continue;
    out.add(m[1] + (m[2] ?? ""));
  }
  return [...out];
}

test("metricSelectors finds the selectors of an expression and nothing else", () => {
  assert.deepEqual(
    metricSelectors('sum by (job, le) (rate(a_total{job="x", l=~"y"}[5m])) / on (job) b > 0.1 and c{k="v"} > 1/60'),
    ['a_total{job="x", l=~"y"}', "b", 'c{k="v"}'],
  );
});

test("deploy/grafana/proxy-server.json is what dashboard.mjs generates, with unique panel ids inside a 24-column grid", () => {
  assert.deepEqual(dashboard, JSON.parse(JSON.stringify(generate())));
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const p of dashboard.panels) assert.ok(p.gridPos.x + p.gridPos.w <= 24, p.title);
  assert.ok(panelExprs().length >= 20);
});

test("deploy/prometheus/alerts.yml passes promtool check rules and its unit tests", async () => {
  const check = await promtool(["check", "rules", RULES]);
  assert.equal(check.code, 0, check.output);
  assert.match(check.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
  const unit = await promtool(["test", "rules", "alerts.test.yml"], join(ROOT, "deploy/prometheus"));
  assert.equal(unit.code, 0, unit.output);
  // Every alert has a unit test that expects it to fire.
  const tests = (parseYaml(readFileSync(join(ROOT, "deploy/prometheus/alerts.test.yml"), "utf8")) as {
    tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
  }).tests;
  const fired = new Set(
    tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
  );
  assert.deepEqual([...fired].sort(), rules.map((r) => r.alert).sort());
});

test("every dashboard panel and every alert returns data from a real Prometheus scraping a real proxy", async () => {
  const echo = await startEchoTarget();
  // A cluster member, so the cluster alert's gauge exists (it is only exposed with `cluster`).
  const redis = await startRedis();
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "outbound" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    sources: { "ip-1": { source_address: "127.0.0.1" }, "ip-2": { source_address: "127.0.0.1" } },
    pools: { outbound: { entries: [{ name: "ip-1" }, { name: "ip-2" }] } },
    cluster: { redis: { url: redis.url }, key_prefix: "monitoring:", instance: "monitoring", timeout: "2s" },
  });
  const target = `127.0.0.1:${proxy.httpPorts[0]}`;
  const prometheus = await startPrometheus("proxy-server", [target], [RULES]);
  try {
    const value = async (expr: string) => Number((await prometheus.query(expr)).result[0]?.value[1] ?? NaN);
    await prometheus.until("the first scrape", async () => await value(`up{job="proxy-server"}`) === 1);

    // Traffic after the first scrape, so rates and quantiles are not flat.
    const port = proxy.ports[0];
    for (let i = 0; i < 3; i++) {
      const c = await rawConnect(port);
      c.send([5, 1, 0]);
      assert.deepEqual([...await c.read(2)], [5, 0]);
      c.send(ipv4Request(1, "127.0.0.1", echo.port));
      assert.equal((await c.read(10))[1], 0, "CONNECT succeeds");
      c.send(new TextEncoder().encode("hello"));
      assert.equal(new TextDecoder().decode(await c.read(5)), "hello");
      c.close();
    }
    const refused = await rawConnect(port);
    refused.send([5, 1, 0]);
    await refused.read(2);
    refused.send(ipv4Request(1, "127.0.0.1", await closedPort()));
    assert.equal((await refused.read(10))[1], 5, "connection refused");
    refused.close();
    const bad = await rawConnect(port);
    bad.send([4, 1, 0, 80, 127, 0, 0, 1, 0]); // SOCKS4: a failed session
    await bad.readUntilClose();
    const suspend = await fetch(`http://${target}/api/admin/egress/sources/ip-2/suspend/v1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ duration: "10m", reason: "maintenance" }),
    });
    assert.equal(suspend.status, 200, await suspend.text());

    await prometheus.until(
      "the traffic in Prometheus",
      async () =>
        await value(`sum(proxy_connections_failed_total{job="proxy-server"})`) >= 1 &&
        await value(`sum(proxy_connections_accepted_total{job="proxy-server"})`) >= 5 &&
        await value(`sum(egress_source_health_suspended{job="proxy-server"})`) === 1,
    );
    // rate() and increase() need two samples of a series, and some series
    // (a destination, a suspension reason) are born with the traffic.
    await prometheus.until(
      "two scrapes of the new series",
      async () =>
        await value(`min(count_over_time(proxy_outbound_connections_total[1m]))`) >= 2 &&
        await value(`min(count_over_time(egress_source_health_suspended[1m]))`) >= 2,
    );

    const blank: string[] = [];
    for (const [title, expr] of panelExprs()) {
      const { result } = await prometheus.query(substitute(expr));
      if (result.length === 0) blank.push(`${title}: ${expr}`);
    }
    assert.deepEqual(blank, [], "dashboard panels without data");

    for (const variable of dashboard.templating.list.filter((v) => v.type === "query")) {
      const m = /^label_values\((.*),\s*(\w+)\)$/.exec(variable.query.query);
      assert.ok(m, `variable ${variable.name}: ${variable.query.query}`);
      const values = await prometheus.api(`/api/v1/label/${m[2]}/values`, { "match[]": substitute(m[1]) });
      assert.equal(values.status, "success", String(values.error));
      assert.ok(values.data.length > 0, `variable ${variable.name} has values`);
    }

    for (const rule of rules) {
      await prometheus.query(rule.expr); // rejects on an error
      for (const selector of metricSelectors(rule.expr)) {
        const { result } = await prometheus.query(selector);
        assert.ok(result.length > 0, `alert ${rule.alert}: ${selector} returns data`);
      }
    }
    // Prometheus itself loaded and evaluated every rule without error.
    await prometheus.until("every rule evaluated", async () => {
      const { data } = await prometheus.api("/api/v1/rules");
      const loaded = (data as { groups: { rules: { health: string }[] }[] }).groups.flatMap((g) => g.rules);
      return loaded.length === rules.length && loaded.every((r) => r.health === "ok");
    });
    // The suspension is visible to its alert (pending: `for` has not elapsed).
    const suspended = await prometheus.query(rules.find((r) => r.alert === "EgressSourceSuspended")!.expr);
    assert.deepEqual(suspended.result.map((s) => [s.metric.source, s.metric.reason]), [["ip-2", "maintenance"]]);
  } finally {
    await prometheus.stop();
    assert.equal(await proxy.stop(), 0);
    await echo.close();
    await redis.close();
  }
});
