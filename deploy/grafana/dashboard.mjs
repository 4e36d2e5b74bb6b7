// Generates deploy/grafana/proxy-server.json, the Grafana dashboard:
//
//   node deploy/grafana/dashboard.mjs > deploy/grafana/proxy-server.json
//
// Edit the panels here, not in the JSON (test/deploy/monitoring.test.ts checks
// the JSON is this file's output, and runs every panel's query against a real
// Prometheus scraping a real proxy-server).
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The dashboard as an object (Grafana's JSON model, schemaVersion 39). */
export function dashboard() {
  const ds = { type: "prometheus", uid: "${datasource}" };
  const sel = (extra = "") => `job=~"$job", instance=~"$instance"${extra}`;
  const L = sel(`, listener=~"$listener"`);
  const S = sel(`, source=~"$source"`);
  let id = 0;
  let y = 0;
  const panels = [];
  const row = (title) => { panels.push({ type: "row", id: ++id, title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] }); };
  let x = 0, rowH = 0;
  function panel(p, w = 12, h = 8) {
    if (x + w > 24) { x = 0; y += rowH; rowH = 0; }
    panels.push({
      id: ++id, datasource: ds, gridPos: { h, w, x, y },
      fieldConfig: { defaults: { unit: p.unit ?? "short", ...(p.min !== undefined ? { min: p.min } : {}), custom: p.type === "timeseries" || !p.type ? { drawStyle: "line", lineWidth: 1, fillOpacity: p.fill ?? 10, stacking: { mode: p.stack ? "normal" : "none" } } : undefined }, overrides: [] },
      options: p.options ?? { legend: { displayMode: "table", placement: "bottom", calcs: ["lastNotNull", "max"] }, tooltip: { mode: "multi", sort: "desc" } },
      type: p.type ?? "timeseries", title: p.title, description: p.description,
      targets: p.targets.map(([expr, legendFormat], i) => ({ datasource: ds, refId: String.fromCharCode(65 + i), expr, legendFormat, ...(p.instant ? { instant: true, range: false } : { range: true }) })),
    });
    x += w; rowH = Math.max(rowH, h);
    if (x >= 24) { x = 0; y += rowH; rowH = 0; }
  }
  const flush = () => { if (x) { x = 0; y += rowH; rowH = 0; } };
  const R = "$__rate_interval";
  
  row("Overview");
  panel({ type: "stat", title: "Instances up", description: "Scrape targets answering (up).", targets: [[`sum(up{${sel()}})`, "up"]], options: { reduceOptions: { calcs: ["lastNotNull"] }, colorMode: "value", graphMode: "none" } }, 4, 4);
  panel({ type: "stat", title: "Active tunnels", description: "proxy_active_connections, all listeners.", targets: [[`sum(proxy_active_connections{${L}})`, "active"]], options: { reduceOptions: { calcs: ["lastNotNull"] }, colorMode: "value", graphMode: "area" } }, 4, 4);
  panel({ type: "stat", title: "Sessions / s", description: "Accepted client connections per second, all listeners.", unit: "reqps", targets: [[`sum(rate(proxy_connections_accepted_total{${L}}[${R}]))`, "accepted"]], options: { reduceOptions: { calcs: ["lastNotNull"] }, colorMode: "value", graphMode: "area" } }, 4, 4);
  panel({ type: "stat", title: "Failed sessions", description: "Share of accepted sessions that failed over the range.", unit: "percentunit", targets: [[`sum(increase(proxy_connections_failed_total{${L}}[$__range])) / clamp_min(sum(increase(proxy_connections_accepted_total{${L}}[$__range])), 1)`, "failed"]], options: { reduceOptions: { calcs: ["lastNotNull"] }, colorMode: "value", graphMode: "none" } }, 4, 4);
  panel({ type: "stat", title: "Usable egress sources", description: "egress_source_healthy = 1 over all sources.", targets: [[`sum(egress_source_healthy{${S}})`, "healthy"], [`count(egress_source_healthy{${S}})`, "configured"]], options: { reduceOptions: { calcs: ["lastNotNull"] }, colorMode: "value", graphMode: "none" } }, 4, 4);
  panel({ type: "table", title: "Version", description: "proxy_build_info by instance.", instant: true, targets: [[`proxy_build_info{${sel()}}`, "{{instance}} {{version}} {{runtime}} {{runtime_version}}"]], options: { showHeader: true } }, 4, 4);
  flush();
  
  row("Sessions");
  panel({ title: "Sessions accepted / s by listener", unit: "reqps", targets: [[`sum by (listener) (rate(proxy_connections_accepted_total{${L}}[${R}]))`, "{{listener}}"]] });
  panel({ title: "Sessions ended / s: completed and failed", unit: "reqps", stack: true, targets: [[`sum by (listener) (rate(proxy_connections_completed_total{${L}}[${R}]))`, "completed {{listener}}"], [`sum by (listener) (rate(proxy_connections_failed_total{${L}}[${R}]))`, "failed {{listener}}"]] });
  panel({ title: "Active tunnels by listener", description: "Connections open now (proxy_active_connections).", min: 0, targets: [[`sum by (listener) (proxy_active_connections{${L}})`, "{{listener}}"]] });
  panel({ title: "Failures / s by reason", description: "Failed sessions (any reason), of which authentication and TLS handshake failures, and egress failures by kind.", unit: "reqps", targets: [
    [`sum by (listener) (rate(proxy_connections_failed_total{${L}}[${R}]))`, "failed sessions {{listener}}"],
    [`sum by (listener) (rate(proxy_auth_failures_total{${L}}[${R}]))`, "auth {{listener}}"],
    [`sum by (listener) (rate(proxy_tls_handshake_failures_total{${L}}[${R}]))`, "TLS handshake {{listener}}"],
    [`sum by (kind) (rate(egress_source_connection_failures_total{${S}}[${R}]))`, "egress {{kind}}"],
  ] });
  panel({ title: "Handshake latency quantiles", description: "Accept to successful CONNECT reply (proxy_handshake_duration_seconds).", unit: "s", targets: [0.5, 0.9, 0.99].map((q) => [`histogram_quantile(${q}, sum by (le, listener) (rate(proxy_handshake_duration_seconds_bucket{${L}}[${R}])))`, `p${q * 100} {{listener}}`]) });
  panel({ title: "TLS handshake failures / s", description: "proxy_tls_handshake_failures_total (use_tls listeners).", unit: "reqps", targets: [[`sum by (listener) (rate(proxy_tls_handshake_failures_total{${L}}[${R}]))`, "{{listener}}"]] });
  panel({ title: "Top destinations (outbound connections / s)", description: "proxy_outbound_connections_total, at most metrics.max_outbound_destinations series.", unit: "reqps", targets: [[`topk(10, sum by (destination) (rate(proxy_outbound_connections_total{${L}}[${R}])))`, "{{destination}}"]] });
  panel({ title: "Authentication failures / s", unit: "reqps", targets: [[`sum by (listener) (rate(proxy_auth_failures_total{${L}}[${R}]))`, "{{listener}}"]] });
  
  row("Traffic");
  panel({ title: "Bytes / s, client to destination", unit: "Bps", targets: [[`sum by (listener) (rate(proxy_bytes_client_to_dest_total{${L}}[${R}]))`, "{{listener}}"]] });
  panel({ title: "Bytes / s, destination to client", unit: "Bps", targets: [[`sum by (listener) (rate(proxy_bytes_dest_to_client_total{${L}}[${R}]))`, "{{listener}}"]] });
  
  row("Egress sources");
  panel({ title: "Sources healthy (1) / unusable (0)", min: 0, targets: [[`max by (source) (egress_source_healthy{${S}})`, "{{source}}"]] });
  panel({ title: "Sources suspended, by reason", description: "egress_source_health_suspended: 1 while suspended. No series until a first suspension.", min: 0, targets: [[`max by (source, reason) (egress_source_health_suspended{${S}})`, "{{source}} {{reason}}"]] });
  panel({ title: "Egress failures / s by source and kind", unit: "reqps", targets: [[`sum by (source, kind) (rate(egress_source_connection_failures_total{${S}}[${R}]))`, "{{source}} {{kind}}"]] });
  panel({ title: "Suspensions since start", description: "egress_source_health_suspensions_total: times each source was suspended, by reason, since the process started.", targets: [[`max by (source, reason) (egress_source_health_suspensions_total{${S}})`, "{{source}} {{reason}}"]], type: "bargauge", instant: true, options: { reduceOptions: { calcs: ["lastNotNull"] }, orientation: "horizontal", displayMode: "basic" } });
  panel({ title: "Connections / s by source", unit: "reqps", targets: [[`sum by (source) (rate(egress_source_connections_total{${S}}[${R}]))`, "{{source}}"]] });
  panel({ title: "Active connections by source", min: 0, targets: [[`sum by (source) (egress_source_active_connections{${S}})`, "{{source}}"]] });
  
  row("Process");
  panel({ title: "Resident memory", unit: "bytes", targets: [[`process_resident_memory_bytes{${sel()}}`, "{{instance}}"]] });
  panel({ title: "File descriptors", targets: [[`process_open_fds{${sel()}}`, "open {{instance}}"], [`process_max_fds{${sel()}}`, "limit {{instance}}"]] });
  panel({ title: "CPU", unit: "percentunit", targets: [[`rate(process_cpu_seconds_total{${sel()}}[${R}])`, "{{instance}}"]] });
  panel({ title: "Event loop lag p99", unit: "s", targets: [[`nodejs_eventloop_lag_p99_seconds{${sel()}}`, "{{instance}}"]] });
  flush();
  
  const variable = (name, query, label, extra = {}) => ({
    name, label, type: "query", datasource: ds, query: { query, refId: name }, definition: query, refresh: 2,
    includeAll: true, multi: true, allValue: ".*", current: { selected: true, text: ["All"], value: ["$__all"] }, sort: 1, ...extra,
  });
  return {
  
    title: "proxy-server", uid: "proxy-server", description: "SOCKS5 egress proxy: sessions, tunnels, bytes, failures, handshake latency, egress sources, process.",
    tags: ["proxy-server", "socks5", "kumomta"], timezone: "browser", editable: true, graphTooltip: 1, schemaVersion: 39, version: 1,
    time: { from: "now-6h", to: "now" }, refresh: "30s",
    templating: { list: [
      { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {}, hide: 0 },
      variable("job", "label_values(proxy_build_info, job)", "Job", { includeAll: false, multi: false, current: {} , allValue: undefined}),
      variable("instance", 'label_values(proxy_build_info{job=~"$job"}, instance)', "Instance"),
      variable("listener", 'label_values(proxy_connections_accepted_total{job=~"$job", instance=~"$instance"}, listener)', "Listener"),
      variable("source", 'label_values(egress_source_healthy{job=~"$job", instance=~"$instance"}, source)', "Egress source"),
    ] },
    annotations: { list: [{ builtIn: 1, datasource: { type: "grafana", uid: "-- Grafana --" }, enable: true, hide: true, iconColor: "rgba(0, 211, 255, 1)", name: "Annotations & Alerts", type: "dashboard" }] },
    links: [], panels,
  };
}
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(JSON.stringify(dashboard(), null, 2) + "\n");
}
