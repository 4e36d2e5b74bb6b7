// proxy_requests_total and proxy_session_duration_seconds of a running
// proxy-server, checked by scraping: refused, unreachable and successful
// requests land under their reply names, promtool accepts the exposition,
// and a real Prometheus scraping the proxy answers the error-rate query.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";
import { promtoolCheck, sample, scrapeUntil } from "../helpers/prometheus.ts";
import { closedPort as findClosedPort } from "../helpers/peers.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { pollForAsync, UNRESOLVABLE } from "./helpers.ts";
import { startPrometheus } from "../helpers/prometheus-server.ts";

let proxy: RunningProxy;
/** The `listener` label: the bound address, with the real port. */
let LISTENER: string;
let echo: EchoTarget;
let closedPort: number;

before(async () => {
  echo = await startEchoTarget();
  closedPort = await findClosedPort();
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    users: [{ username: "alice", password: "pw" }, { username: "bob", password: "pw" }],
    metrics: { per_user: true },
    // Port 9 (discard) is refused by rule: the not_allowed reply.
    access_rules: [{ action: "deny", ports: [9] }],
  });
  LISTENER = `127.0.0.1:${proxy.ports[0]}`;
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
});

const metricsUrl = () => `http://127.0.0.1:${proxy.httpPorts[0]}/metrics`;
const requests = (text: string, reply: string, command = "connect") =>
  sample(text, "proxy_requests_total", { listener: LISTENER, command, reply }) ?? 0;

/** One session: optional RFC 1929 login, optional BIND, then CONNECT to `dst` (bytes of ATYP..PORT); resolves with the REP. */
async function request(dst: number[], options: { user?: string; bind?: string; echo?: boolean } = {}): Promise<number> {
  const c = await rawConnect(proxy.ports[0]);
  try {
    if (options.user !== undefined) {
      c.send([5, 1, 2]);
      assert.deepEqual([...await c.read(2)], [5, 2]);
      const u = new TextEncoder().encode(options.user);
      c.send([1, u.length, ...u, 2, 112, 119]);
      assert.deepEqual([...await c.read(2)], [1, 0]);
    } else {
      c.send([5, 1, 0]);
      assert.deepEqual([...await c.read(2)], [5, 0]);
    }
    if (options.bind !== undefined) {
      c.send(ipv4Request(2, options.bind, 0));
      assert.equal((await c.read(10))[1], 0);
    }
    c.send([5, 1, 0, ...dst]);
    const rep = (await c.read(10))[1];
    if (rep === 0) {
      c.send(new TextEncoder().encode("ping"));
      assert.equal(new TextDecoder().decode(await c.read(4)), "ping");
    }
    return rep;
  } finally {
    c.close();
  }
}
const ipv4 = (port: number) => ipv4Request(1, "127.0.0.1", port).slice(3);
const name = (host: string, port: number) => {
  const h = new TextEncoder().encode(host);
  return [3, h.length, ...h, port >> 8, port & 0xff];
};

test("proxy_requests_total counts succeeded, connection_refused, host_unreachable and not_allowed by scraping; promtool passes", async () => {
  const before = (await httpRequest(metricsUrl())).body;
  for (let i = 0; i < 3; i++) assert.equal(await request(ipv4(closedPort)), 5);
  for (let i = 0; i < 2; i++) assert.equal(await request(name(UNRESOLVABLE, 80)), 4);
  for (let i = 0; i < 4; i++) assert.equal(await request(ipv4(9)), 2);
  assert.equal(await request(ipv4(echo.port), { user: "alice" }), 0);
  assert.equal(await request(ipv4(echo.port), { bind: "127.0.0.1" }), 0);
  const text = await scrapeUntil(metricsUrl(), (t) => requests(t, "succeeded") >= requests(before, "succeeded") + 2);
  assert.equal(requests(text, "connection_refused") - requests(before, "connection_refused"), 3);
  assert.equal(requests(text, "host_unreachable") - requests(before, "host_unreachable"), 2);
  assert.equal(requests(text, "not_allowed") - requests(before, "not_allowed"), 4, "denied by access_rules");
  assert.equal(requests(text, "succeeded") - requests(before, "succeeded"), 2);
  assert.equal(
    requests(text, "succeeded", "bind") - requests(before, "succeeded", "bind"),
    1,
    "the accepted BIND counts",
  );
  // Every session is in the duration histogram; per-user series only for alice's.
  const count = sample(text, "proxy_session_duration_seconds_count", { listener: LISTENER }) ?? 0;
  const accepted = sample(text, "proxy_connections_accepted_total", { listener: LISTENER }) ?? 0;
  assert.equal(count, accepted, "one duration sample per accepted session");
  assert.equal(sample(text, "proxy_user_requests_total", { user: "alice", reply: "succeeded" }), 1);
  assert.equal(sample(text, "proxy_user_bytes_client_to_dest_total", { user: "alice" }), 4);
  assert.equal(sample(text, "proxy_user_bytes_dest_to_client_total", { user: "alice" }), 4);
  assert.equal(sample(text, "proxy_user_requests_total", { user: "bob", reply: "succeeded" }), undefined);
  const check = await promtoolCheck(text);
  assert.equal(check.code, 0, check.output);
});

test('a real Prometheus scraping the proxy answers sum(rate(proxy_requests_total{reply!="succeeded"}[1m])) > 0 after refused requests', async () => {
  const prometheus = await startPrometheus("proxy", [`127.0.0.1:${proxy.httpPorts[0]}`]);
  try {
    // The series must exist in one scrape and have grown by a later one for rate() to be > 0.
    assert.equal(await request(ipv4(closedPort)), 5);
    const present = await pollForAsync(
      async () => (await prometheus.query('proxy_requests_total{reply="connection_refused"}')).result,
      (r) => r.length > 0,
    );
    assert.ok(present.length > 0, `Prometheus scraped the series; log:\n${prometheus.log()}`);
    for (let i = 0; i < 5; i++) assert.equal(await request(ipv4(closedPort)), 5);
    const query = 'sum(rate(proxy_requests_total{reply!="succeeded"}[1m])) > 0';
    const result = await pollForAsync(async () => (await prometheus.query(query)).result, (r) => r.length > 0);
    assert.equal(result.length, 1, `the error-rate query answered; log:\n${prometheus.log()}`);
    assert.ok(Number(result[0].value[1]) > 0);
  } finally {
    await prometheus.stop();
  }
});
