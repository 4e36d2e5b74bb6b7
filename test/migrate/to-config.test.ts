// toConfig on recordings, without the VM: the schema-driven rules for
// values (durations, empty lists, nested tables, TLS paths, Vault and
// functions) and the dropped list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeDropped, type PolicyRecording, toConfig } from "../../src/migrate/index.ts";

function proxyCall(params: unknown, where = "init.lua:2"): PolicyRecording["listeners"][number] {
  return { api: "kumo.start_proxy_listener", kind: "proxy", params, where };
}

test("numbers become durations where the schema wants one, also nested (tcp_keepalive)", () => {
  const { config, dropped } = toConfig({
    listeners: [
      proxyCall({ listen: "127.0.0.1:0", timeout: 1.5, tcp_keepalive: { time: 300, retries: 3, enabled: true } }),
    ],
    handlers: [],
  });
  assert.deepEqual(dropped, []);
  assert.deepEqual(config.proxy_listeners, [
    { listen: "127.0.0.1:0", timeout: "1.5s", tcp_keepalive: { enabled: true, time: "300s", retries: 3 } },
  ]);
});

test("an empty Lua table is [] where the schema wants a list; http listeners keep numbers that are numbers", () => {
  const { config } = toConfig({
    listeners: [
      proxyCall({ listen: "127.0.0.1:0" }),
      {
        api: "proxy.start_http_listener",
        kind: "http",
        params: { listen: "127.0.0.1:0", trusted_hosts: {}, request_body_limit: 10 },
        where: "init.lua:3",
      },
    ],
    handlers: [],
  });
  assert.deepEqual(config.http_listeners, [{ listen: "127.0.0.1:0", trusted_hosts: [], request_body_limit: 10 }]);
});

test("relative TLS paths are made absolute against cwd; key_data is kept; Vault sources and functions are dropped", () => {
  const { config, dropped } = toConfig({
    listeners: [
      proxyCall({
        listen: "127.0.0.1:0",
        use_tls: true,
        tls_certificate: "certs/a.pem",
        tls_private_key: { key_data: "-----BEGIN X" },
      }),
      proxyCall({
        listen: "127.0.0.1:0",
        tls_certificate: { vault_mount: "secret", vault_path: "tls" },
        hostname: () => 1,
      }, "init.lua:9"),
    ],
    handlers: [{ event: "init", where: "init.lua:20" }],
  }, { cwd: "/etc/kumo" });
  assert.deepEqual(config.proxy_listeners, [
    {
      listen: "127.0.0.1:0",
      use_tls: true,
      tls_certificate: "/etc/kumo/certs/a.pem",
      tls_private_key: { key_data: "-----BEGIN X" },
    },
    { listen: "127.0.0.1:0" },
  ]);
  assert.deepEqual(dropped.map(describeDropped), [
    "init.lua:9: kumo.start_proxy_listener: key tls_certificate from HashiCorp Vault (vault_mount, vault_path): " +
    'not converted; fetch the PEM from Vault and give tls_certificate as a file path, { "key_data": PEM } or { "env": NAME }',
    "init.lua:9: kumo.start_proxy_listener: key hostname = function: not converted; a Lua function cannot be written " +
    "in JSON: give the value it computes",
    "init.lua:20: kumo.on('init') handler: not converted; proxy-server runs no Lua event handlers; this one has no JSON equivalent",
  ]);
});

test("kumo.set_diagnostic_log_filter becomes log.filter", () => {
  const { config } = toConfig({
    listeners: [proxyCall({ listen: "127.0.0.1:0" })],
    handlers: [],
    logFilter: { filter: "proxy_server=debug", where: "init.lua:1" },
  });
  assert.deepEqual(config.log, { filter: "proxy_server=debug" });
});
