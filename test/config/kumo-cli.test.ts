// A KumoProxy user's config and flags, through the real CLI: every KumoProxy
// key validates and runs, --diag-format json gives JSON lines,
// --diag-log-dir writes the log to hourly files, and KUMO_PROXY_LOG sets the
// log filter as PROXY_SERVER_LOG does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { runCli, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";
import { startHttpTarget } from "../helpers/target.ts";

/** A config as a KumoProxy user writes it: numeric durations, use_splice, KumoMTA source and pool keys. */
const KUMO_CONFIG = {
  proxy_listeners: [{
    listen: "localhost:0",
    timeout: 30,
    use_splice: true,
    idle_timeout: 600,
    tcp_keepalive: { enabled: true, time: 300, interval: 30, retries: 3 },
  }],
  sources: {
    "ip-1": {
      name: "ip-1",
      source_address: "127.0.0.1",
      ehlo_domain: "mta1.example.com",
      remote_port: 25,
      ttl: 60,
      suspend_when_unplumbed: { duration: 300 },
    },
  },
  pools: { main: { name: "main", ttl: "5m", entries: [{ name: "ip-1", weight: 1 }] } },
  shutdown_grace_period: 5,
};

test("a config with every KumoProxy key validates, with one notice each for use_splice and the ignored keys", async () => {
  const file = writeTempConfig(KUMO_CONFIG);
  const result = await runCli(["--validate-config", file]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `${file}: valid\n`);
  assert.deepEqual(result.stderr.trimEnd().split("\n"), [
    `notice: ${file}: use_splice is accepted for KumoProxy compatibility and has no effect here`,
    `notice: ${file}: ignoring the KumoMTA keys that mean nothing to a proxy: "ehlo_domain" (in source "ip-1"), ` +
    '"remote_port" (in source "ip-1"), "ttl" (in source "ip-1"), "name" (in source "ip-1"), ' +
    '"name" (in pool "main"), "ttl" (in pool "main")',
  ]);
});

test("the KumoProxy config runs: localhost:0 is resolved and bound, and relays a CONNECT", async () => {
  const target = await startHttpTarget();
  const proxy = await startProxy(KUMO_CONFIG);
  try {
    assert.match(proxy.log(), /notice: .*use_splice is accepted for KumoProxy compatibility/);
    assert.match(proxy.log(), /proxy listener on 127\.0\.0\.1:\d+/);
    const client = await rawConnect(proxy.ports[0]);
    client.send([5, 1, 0]);
    assert.deepEqual([...await client.read(2)], [5, 0]);
    client.send(ipv4Request(1, "127.0.0.1", target.port));
    assert.equal((await client.read(10))[1], 0, "REP 0x00 succeeded");
    client.send(new TextEncoder().encode("GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"));
    assert.match(new TextDecoder().decode(await client.readUntilClose()), /hello from target/);
    client.close();
  } finally {
    assert.equal(await proxy.stop(), 0);
    await target.close();
  }
});

test("--diag-format json writes the log as JSON lines", async () => {
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] }, { args: ["--diag-format", "json"] });
  try {
    const lines = proxy.log().trimEnd().split("\n");
    assert.ok(lines.length >= 1);
    for (const line of lines) {
      const record = JSON.parse(line);
      assert.equal(typeof record.message, "string", line);
      assert.equal(typeof record.level, "string", line);
    }
    assert.ok(
      lines.some((line) => /^proxy listener on "127\.0\.0\.1:\d+"$/.test(JSON.parse(line).message)),
      proxy.log(),
    );
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
  const bad = await runCli(["--config", "proxy.json", "--diag-format", "xml"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--diag-format expects one of full, compact, pretty, json, got "xml"/);
});

test("--diag-log-dir writes the log to the hour's file instead of stderr", async () => {
  // A port this test holds, so the proxy cannot bind it, logs why, and exits 1 by itself.
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const port = (holder.address() as { port: number }).port;
  const dir = join(mkdtempSync(join(tmpdir(), "proxy-server-diag-")), "logs");
  try {
    const file = writeTempConfig({ proxy_listeners: [{ listen: `127.0.0.1:${port}` }] });
    const result = await runCli(["--config", file, "--diag-log-dir", dir, "--diag-format", "full"]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr, "");
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0], /^proxy-server\.\d{4}-\d{2}-\d{2}-\d{2}\.log$/);
    assert.match(
      readFileSync(join(dir, files[0]), "utf8"),
      new RegExp(`ERROR.*cannot start: .*127\\.0\\.0\\.1:${port}`),
    );
  } finally {
    holder.close();
  }
});

test("KUMO_PROXY_LOG=proxy_server=debug raises the level; PROXY_SERVER_LOG wins when both are set", async () => {
  const config = { proxy_listeners: [{ listen: "127.0.0.1:0" }], http_listeners: [{ listen: "127.0.0.1:0" }] };
  const filterInForce = async (env: Record<string, string>) => {
    const proxy = await startProxy(config, { env });
    try {
      // Setting a filter answers the one it replaces: the filter in force at start.
      const response = await fetch(`http://127.0.0.1:${proxy.httpPorts[0]}/api/admin/set_diagnostic_log_filter/v1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ filter: "proxy_server=info" }),
      });
      assert.equal(response.status, 200);
      return (await response.json()).previous;
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  };
  assert.equal(await filterInForce({ KUMO_PROXY_LOG: "proxy_server=debug" }), "proxy_server=debug");
  assert.equal(
    await filterInForce({ KUMO_PROXY_LOG: "proxy_server=debug", PROXY_SERVER_LOG: "proxy_server=info,x=warn" }),
    "proxy_server=info,x=warn",
  );
});
