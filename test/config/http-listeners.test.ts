// `http_listeners` and `metrics`: defaults, trusted_hosts forms (IPv4, IPv6,
// CIDR) and their canonical spelling, and the problems of bad entries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/index.ts";
import { fakeIo, problemsOfValue, withListener } from "./helpers.ts";

const withHttp = (...http: Record<string, unknown>[]) => ({ ...withListener({}), http_listeners: http });

test("an HTTP listener gets KumoMTA's defaults: loopback trusted hosts, a 2 MiB body limit", async () => {
  const config = await parseConfig(withHttp({ listen: "127.0.0.1:8080" }), "test.json", fakeIo());
  assert.deepEqual(config.http_listeners, [{
    listen: { host: "127.0.0.1", port: 8080, text: "127.0.0.1:8080" },
    trusted_hosts: ["127.0.0.1", "::1"],
    request_body_limit: 2097152,
    use_tls: false,
    expose_system_info: false,
  }]);
  assert.deepEqual(config.metrics, { max_outbound_destinations: 1000, per_user: false });
});

test("trusted_hosts takes IPv4 and IPv6 addresses and CIDR blocks, spelled canonically", async () => {
  const config = await parseConfig(
    withHttp({
      listen: "[::1]:0",
      trusted_hosts: ["10.0.0.0/8", "192.168.1.5", "0:0:0:0:0:0:0:1", "FD00:0::/8", "::ffff:127.0.0.1", "0.0.0.0/0"],
      request_body_limit: 1024,
      expose_system_info: true,
    }),
    "test.json",
    fakeIo(),
  );
  const [http] = config.http_listeners;
  assert.deepEqual(http.trusted_hosts, ["10.0.0.0/8", "192.168.1.5", "::1", "fd00::/8", "::ffff:7f00:1", "0.0.0.0/0"]);
  assert.equal(http.request_body_limit, 1024);
  assert.equal(http.expose_system_info, true);
});

test("bad trusted_hosts entries, body limits and metrics settings are reported at their paths", async () => {
  const problems = await problemsOfValue({
    ...withHttp(
      { listen: "127.0.0.1:8080", trusted_hosts: ["localhost", "10.0.0.0/33", "fe80::1%eth0", 7] },
      { listen: "127.0.0.1:8081", request_body_limit: 1.5 },
      { listen: "127.0.0.1:8082", request_body_limit: 0, expose_system_info: "yes" },
      { listen: "127.0.0.1:8083", trusted_hosts: [] },
    ),
    metrics: { max_outbound_destinations: 0 },
  });
  const at = (path: string) => problems.filter((p) => p.path === path).map((p) => p.message).join(" | ");
  assert.match(at("$.http_listeners[0].trusted_hosts[0]"), /expected an IP address or CIDR block .*got "localhost"/);
  assert.match(at("$.http_listeners[0].trusted_hosts[1]"), /prefix length "33" is not 0 to 32/);
  assert.match(at("$.http_listeners[0].trusted_hosts[2]"), /not an IP address literal/);
  assert.match(at("$.http_listeners[0].trusted_hosts[3]"), /got 7/);
  assert.match(at("$.http_listeners[1].request_body_limit"), /whole number of bytes, got 1.5/);
  assert.match(at("$.http_listeners[2].request_body_limit"), /at least 1 byte, got 0/);
  assert.match(at("$.http_listeners[2].expose_system_info"), /true or false/);
  assert.match(at("$.http_listeners[3].trusted_hosts"), /at least one address or CIDR block/);
  assert.match(at("$.metrics.max_outbound_destinations"), /at least 1, got 0/);
});

test("a duplicate HTTP listen address is reported at the duplicate; unknown keys are refused", async () => {
  const problems = await problemsOfValue(withHttp(
    { listen: "127.0.0.1:8080" },
    { listen: "127.0.0.1:8080", trusted_host: ["::1"] },
  ));
  const messages = problems.map((p) => `${p.path}: ${p.message}`);
  assert.ok(
    messages.some((m) =>
      /^\$\.http_listeners\[1\]\.listen: duplicate listen address "127.0.0.1:8080": already used by the HTTP listener at index 0$/
        .test(m)
    ),
    messages.join("\n"),
  );
  assert.ok(messages.some((m) => /^\$\.http_listeners\[1\]\.trusted_host: unknown key/.test(m)), messages.join("\n"));
});
