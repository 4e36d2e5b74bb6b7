// The access log and the request metrics in process: the key=value and JSON
// renderings (quoting what a client chose, leaving absent fields out), the
// one level check, the SessionEnd mapping, and the per-user cap.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { accessLogEnabled, accessText, configureLogging, logAccess } from "../../src/log/index.ts";
import {
  accessEnd,
  accessFields,
  newOutcome,
  NULL_OBSERVER,
  type SessionOutcome,
  withAccessLog,
} from "../../src/server/index.ts";
import { MetricsObserver, ProxyMetrics } from "../../src/metrics/index.ts";
import { sample } from "../helpers/prometheus.ts";
import { parseKeyValues } from "./helpers.ts";

const runtime = { name: "Deno" in globalThis ? "deno" : "bun", version: "1.2.3" };

after(() => configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => void l }));

/** A finished tunnel's outcome. */
function tunnelOutcome(): SessionOutcome {
  const o = newOutcome("0.0.0.0:1080", { host: "::1", port: 5000 });
  Object.assign(o, {
    user: "alice",
    command: 1,
    destination: { host: "mx.example", port: 25 },
    connected: { host: "192.0.2.7", port: 25 },
    localAddress: { host: "10.0.0.2", port: 40000 },
    reply: 0,
    end: "completed",
    bytesUp: 10,
    bytesDown: 20,
    handshakeSeconds: 0.0012345,
    durationSeconds: 1.23456789,
    egressPool: "pool-a",
    egressSource: "ip-2",
  });
  return o;
}

test("accessFields names addresses, command, reply and end as the line shows them", () => {
  assert.deepEqual(accessFields(tunnelOutcome()), {
    listener: "0.0.0.0:1080",
    client: "[::1]:5000",
    user: "alice",
    command: "connect",
    bind_address: undefined,
    egress_source: "ip-2",
    egress_pool: "pool-a",
    destination: "mx.example:25",
    connected: "192.0.2.7:25",
    local_address: "10.0.0.2:40000",
    reply: "succeeded",
    bytes_up: 10,
    bytes_down: 20,
    handshake_ms: 1.235,
    duration_s: 1.234568,
    end: "completed",
    detail: undefined,
  });
});

test("accessEnd maps every SessionEnd onto the access log's names", () => {
  const o = newOutcome("l", { host: "127.0.0.1", port: 1 });
  const cases: [SessionOutcome["end"], SessionOutcome["failedSide"], string][] = [
    ["completed", undefined, "completed"],
    ["auth_failed", undefined, "auth_failed"],
    ["no_acceptable_method", undefined, "auth_failed"],
    ["protocol_error", undefined, "error"],
    ["denied", undefined, "denied"],
    ["timeout", undefined, "timeout"],
    ["relay_error", "client", "client_reset"],
    ["relay_error", "dest", "dest_reset"],
    ["relay_error", undefined, "error"],
    ["error", undefined, "error"],
    ["shutdown", undefined, "shutdown"],
  ];
  for (const [end, side, want] of cases) {
    o.end = end;
    o.failedSide = side;
    assert.equal(accessEnd(o), want, `${end}/${side}`);
  }
});

test("the key=value form quotes what needs it, so a client's text cannot forge fields or lines", () => {
  const fields = { ...accessFields(tunnelOutcome()), user: 'eve end=completed\n2026 [INFO] x"', destination: "a b:25" };
  const text = accessText(fields);
  assert.ok(!text.includes("\n"));
  assert.match(text, /user="eve end=completed\\n2026 \[INFO\] x\\"" /);
  const back = parseKeyValues(text);
  assert.equal(back.user, fields.user);
  assert.equal(back.destination, "a b:25");
  assert.equal(back.end, "completed");
  assert.doesNotMatch(text, /bind_address|detail/, "absent fields are left out");
});

test("the JSON form is one flat object per line with time first; the human form has the diagnostic prefix", () => {
  const lines: string[] = [];
  configureLogging({ filter: "proxy_server=info", format: "json", write: (l) => lines.push(l) });
  logAccess(accessFields(tunnelOutcome()));
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith("}\n"));
  const record = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(record).slice(0, 4), ["time", "level", "logger", "listener"]);
  assert.match(record.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(record.logger, "proxy_server::access");
  assert.equal(record.bytes_down, 20);
  assert.equal("bind_address" in record, false);
  lines.length = 0;
  configureLogging({ format: "human" });
  logAccess(accessFields(tunnelOutcome()));
  assert.match(
    lines[0],
    /^\S+Z \[INFO\] proxy_server::access: listener=0\.0\.0\.0:1080 client=\[::1\]:5000 user=alice /,
  );
});

test("accessLogEnabled follows the filter; when off, withAccessLog builds nothing", () => {
  const lines: string[] = [];
  configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => lines.push(l) });
  assert.equal(accessLogEnabled(), true, "on by default at info");
  configureLogging({ filter: "proxy_server=warn" });
  assert.equal(accessLogEnabled(), false);
  configureLogging({ filter: "proxy_server=warn,proxy_server::access=info" });
  assert.equal(accessLogEnabled(), true, "turned on by itself");
  configureLogging({ filter: "proxy_server=info,proxy_server::access=off" });
  assert.equal(accessLogEnabled(), false, "turned off by itself");
  // A getter on the outcome counts reads: none happen when the log is off.
  let reads = 0;
  const o = tunnelOutcome();
  Object.defineProperty(o, "destination", { get: () => (reads++, { host: "x", port: 1 }) });
  const observer = withAccessLog(NULL_OBSERVER);
  observer.sessionEnded!(o);
  assert.equal(reads, 0);
  assert.equal(lines.length, 0);
  configureLogging({ filter: "proxy_server=info" });
  observer.sessionEnded!(o);
  assert.ok(reads > 0, "on: the fields are built");
  assert.equal(lines.length, 1);
});

test("per-user series: at most maxUsers users, the least recently seen dropped with all its series", async () => {
  const metrics = new ProxyMetrics({ version: "1", runtime, processMetrics: false });
  const observer = new MetricsObserver(metrics, {
    listeners: ["l"],
    maxOutboundDestinations: 10,
    perUser: true,
    maxUsers: 2,
  });
  const session = (user: string, reply: number | undefined, end: SessionOutcome["end"] = "completed") => {
    const o = newOutcome("l", { host: "127.0.0.1", port: 1 });
    Object.assign(o, { user, command: 1, reply, end, bytesUp: 3, bytesDown: 5, durationSeconds: 0.5 });
    observer.sessionEnded(o);
  };
  session("u1", 0);
  session("u1", 5);
  session("u2", 0);
  session("u1", 0); // u1 is now the most recently seen
  session("u3", undefined, "auth_failed"); // drops u2
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, "proxy_user_requests_total", { user: "u1", reply: "succeeded" }), 2);
  assert.equal(sample(text, "proxy_user_requests_total", { user: "u1", reply: "connection_refused" }), 1);
  assert.equal(sample(text, "proxy_user_bytes_dest_to_client_total", { user: "u1" }), 15);
  assert.equal(sample(text, "proxy_user_requests_total", { user: "u2", reply: "succeeded" }), undefined);
  assert.equal(sample(text, "proxy_user_bytes_client_to_dest_total", { user: "u2" }), undefined);
  assert.equal(sample(text, "proxy_user_auth_failures_total", { user: "u3" }), 1);
  assert.equal(sample(text, "proxy_users_evicted_total", {}), 1);
  assert.equal(sample(text, "proxy_requests_total", { listener: "l", command: "connect", reply: "succeeded" }), 3);
  assert.equal(sample(text, "proxy_session_duration_seconds_count", { listener: "l" }), 5);
});

test("without per_user no user series appear; a BIND before CONNECT counts as a bind request", async () => {
  const metrics = new ProxyMetrics({ version: "1", runtime, processMetrics: false });
  const observer = new MetricsObserver(metrics, { listeners: ["l"], maxOutboundDestinations: 10 });
  const o = newOutcome("l", { host: "127.0.0.1", port: 1 });
  Object.assign(o, {
    user: "u1",
    command: 1,
    bindAddress: "10.0.0.2",
    reply: 0,
    end: "completed",
    durationSeconds: 0.1,
  });
  observer.sessionEnded(o);
  const bindOnly = newOutcome("l", { host: "127.0.0.1", port: 2 });
  Object.assign(bindOnly, { command: 2, bindAddress: "10.0.0.2", reply: 0, end: "completed", durationSeconds: 0.1 });
  observer.sessionEnded(bindOnly);
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, "proxy_requests_total", { listener: "l", command: "bind", reply: "succeeded" }), 2);
  assert.equal(sample(text, "proxy_requests_total", { listener: "l", command: "connect", reply: "succeeded" }), 1);
  assert.doesNotMatch(text, /^proxy_user_/m);
});

test("an access file that cannot be written: one ERROR line on the diagnostic log, not one per session", () => {
  const lines: string[] = [];
  configureLogging({
    filter: "proxy_server=info",
    format: "json",
    write: (l) => lines.push(l),
    accessFile: "/dev/full",
  });
  try {
    for (let i = 0; i < 3; i++) logAccess(accessFields(tunnelOutcome()));
  } finally {
    configureLogging({ accessFile: null });
  }
  assert.equal(lines.length, 1, lines.join(""));
  const record = JSON.parse(lines[0]);
  assert.equal(record.level, "ERROR");
  assert.equal(record.logger, "proxy_server::log");
  assert.match(record.properties.error, /ENOSPC|No space left/);
});

test("a client address the runtime could not tell is logged as unknown, not thrown on", () => {
  const o = newOutcome("l", { host: undefined, port: undefined } as unknown as { host: string; port: number });
  assert.equal(accessFields(o).client, "unknown");
});
