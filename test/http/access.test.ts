// The listener-wide checks of an HTTP listener: trusted_hosts (IP literals
// and CIDR blocks; 403 on every route otherwise) and request_body_limit (413
// for a larger body).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";

let proxy: RunningProxy;
const ROUTES = [
  "/metrics",
  "/metrics.json",
  "/proxy/status",
  "/api/check-liveness/v1",
  "/api/status/v1",
  "/api-docs/openapi.json",
  "/rapidoc",
  "/nope",
];

before(async () => {
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [
      { listen: "127.0.0.1:0", trusted_hosts: ["127.0.0.1"] },
      { listen: "127.0.0.1:0", trusted_hosts: ["127.0.0.0/30"] },
      { listen: "127.0.0.1:0" },
      { listen: "[::1]:0", trusted_hosts: ["::1/128"] },
      { listen: "127.0.0.1:0", trusted_hosts: ["::1"] },
      { listen: "127.0.0.1:0", trusted_hosts: ["0.0.0.0/0", "::/0"] },
    ],
  });
});

after(async () => {
  await proxy?.stop();
});

const url = (index: number, path: string) => `http://127.0.0.1:${proxy.httpPorts[index]}${path}`;

test("a request from 127.0.0.2 to a listener trusting only 127.0.0.1 gets 403 on every route", async () => {
  for (const path of ROUTES) {
    const r = await httpRequest(url(0, path), { from: "127.0.0.2" });
    assert.equal(r.status, 403, path);
    assert.equal(r.body, "forbidden\n");
  }
  const post = await httpRequest(url(0, "/api/admin/set_diagnostic_log_filter/v1"), {
    method: "POST",
    from: "127.0.0.2",
    headers: { "content-type": "application/json" },
    body: '{"filter":"proxy_server=trace"}',
  });
  assert.equal(post.status, 403);
  const own = await httpRequest(url(0, "/proxy/status"), { from: "127.0.0.1" });
  assert.equal(own.status, 200);
});

test("refusals are logged at WARN once per client address per minute, not once per request", async () => {
  // The first test sent 9 requests from 127.0.0.2 to listener 0; one more now.
  assert.equal((await httpRequest(url(0, "/metrics"), { from: "127.0.0.2" })).status, 403);
  // A trusted request that logs at INFO marks where the refusals' lines end (stderr is ordered).
  const marker = await httpRequest(url(0, "/api/admin/set_diagnostic_log_filter/v1"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"filter":"proxy_server=info"}',
  });
  assert.equal(marker.status, 200, marker.body);
  await proxy.waitForLog(/diagnostic log filter changed/);
  const refused = proxy.log().split("\n").filter((l) => /refused 127\.0\.0\.2: not in trusted_hosts/.test(l));
  assert.equal(refused.length, 1, refused.join("\n"));
  assert.match(
    refused[0],
    /\[WARNING\] proxy_server::http: refused 127\.0\.0\.2: not in trusted_hosts \(GET \/metrics(\.json)?\)$/,
  );
});

test("a CIDR block admits the addresses inside it and no others", async () => {
  for (
    const [from, status] of [["127.0.0.1", 200], ["127.0.0.2", 200], ["127.0.0.3", 200], ["127.0.0.4", 403], [
      "127.0.1.1",
      403,
    ]] as const
  ) {
    const r = await httpRequest(url(1, "/proxy/status"), { from });
    assert.equal(r.status, status, `from ${from}`);
  }
});

test("0.0.0.0/0 trusts every IPv4 client", async () => {
  for (const from of ["127.0.0.1", "127.0.0.9", "127.1.2.3"]) {
    assert.equal((await httpRequest(url(5, "/proxy/status"), { from })).status, 200, `from ${from}`);
  }
});

test("the default trusted_hosts are the loopback addresses 127.0.0.1 and ::1", async () => {
  assert.equal((await httpRequest(url(2, "/proxy/status"), { from: "127.0.0.1" })).status, 200);
  assert.equal((await httpRequest(url(2, "/proxy/status"), { from: "127.0.0.5" })).status, 403);
});

test("IPv6: a listener trusting ::1/128 serves ::1; one trusting only ::1 refuses 127.0.0.1", async () => {
  const v6 = await httpRequest(`http://[::1]:${proxy.httpPorts[3]}/proxy/status`);
  assert.equal(v6.status, 200);
  assert.equal((await httpRequest(url(4, "/proxy/status"))).status, 403);
});

test("a 3 MiB body gets 413 (default limit 2 MiB); a body under the limit is read", async () => {
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-body-"));
  const big = join(dir, "big.json");
  writeFileSync(big, `{"filter":"proxy_server=info","pad":"${"x".repeat(3 * 1024 * 1024)}"}`);
  const path = "/api/admin/set_diagnostic_log_filter/v1";
  const json = { "content-type": "application/json" };
  const tooBig = await httpRequest(url(2, path), { method: "POST", headers: json, bodyFile: big });
  assert.equal(tooBig.status, 413);
  assert.equal(tooBig.body, "request body too large\n");
  // Sent without Content-Length (chunked), the limit still holds.
  const chunked = await httpRequest(url(2, path), {
    method: "POST",
    headers: { ...json, "transfer-encoding": "chunked" },
    bodyFile: big,
  });
  assert.equal(chunked.status, 413);
  const small = join(dir, "small.json");
  writeFileSync(small, `{"filter":"proxy_server=info","pad":"${"x".repeat(1024 * 1024)}"}`);
  const ok = await httpRequest(url(2, path), { method: "POST", headers: json, bodyFile: small });
  assert.equal(ok.status, 200, ok.body);
});
