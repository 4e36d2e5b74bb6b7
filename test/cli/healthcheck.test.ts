// `proxy-server --healthcheck` from source: a real SOCKS5 greeting against
// the first proxy listener, over TLS when it uses TLS, with RFC 1929
// credentials from the environment; exit 0 healthy, 1 for anything else
// (never 2, which Docker reserves).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort } from "../helpers/peers.ts";
import { runCli, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";

const fixtures = new URL("../runtime/fixtures/", import.meta.url).pathname;

test("--healthcheck exits 0 against a running proxy and 1 against a closed port", async () => {
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  try {
    const config = writeTempConfig({ proxy_listeners: [{ listen: `127.0.0.1:${proxy.ports[0]}` }] });
    const healthy = await runCli(["--healthcheck", "--config", config]);
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.match(
      healthy.stdout,
      new RegExp(`^healthy: 127\\.0\\.0\\.1:${proxy.ports[0]} answered the SOCKS5 greeting \\(method 0x00\\)`),
    );
    const legacy = await runCli(["--healthcheck", "--listen", `127.0.0.1:${proxy.ports[0]}`]);
    assert.equal(legacy.code, 0, legacy.stderr);
    // A wildcard listen address is checked on loopback.
    const wildcard = writeTempConfig({ proxy_listeners: [{ listen: `0.0.0.0:${proxy.ports[0]}` }] });
    assert.equal((await runCli(["--healthcheck", "--config", wildcard])).code, 0);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
  const port = await closedPort();
  const closed = await runCli(["--healthcheck", "--listen", `127.0.0.1:${port}`]);
  assert.equal(closed.code, 1);
  assert.match(closed.stderr, new RegExp(`^unhealthy: cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
});

test("--healthcheck is not fooled by a server that is not SOCKS5", async () => {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.end("220 smtp.example ESMTP\r\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const port = (server.address() as { port: number }).port;
    const result = await runCli(["--healthcheck", "--listen", `127.0.0.1:${port}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /did not pass the SOCKS5 check: .*VER 0x32, expected 0x05/);
  } finally {
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test("--healthcheck speaks TLS to a use_tls listener and authenticates with the credentials from the environment", async () => {
  const listener = {
    use_tls: true,
    require_auth: true,
    tls_certificate: `${fixtures}localhost-cert.pem`,
    tls_private_key: `${fixtures}localhost-key.pem`,
  };
  const users = [{ username: "probe", password: "probe-secret" }];
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0", ...listener }], users });
  try {
    const config = writeTempConfig({
      proxy_listeners: [{ listen: `127.0.0.1:${proxy.ports[0]}`, ...listener }],
      users,
    });
    const env = (password: string) => ({
      PROXY_SERVER_HEALTHCHECK_USERNAME: "probe",
      PROXY_SERVER_HEALTHCHECK_PASSWORD: password,
    });
    const good = await runCli(["--healthcheck", "--config", config], { env: env("probe-secret") });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /\(TLS\) answered the SOCKS5 greeting and accepted the username\/password/);
    const wrong = await runCli(["--healthcheck", "--config", config], { env: env("nope") });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /proxy rejected the username\/password/);
    const none = await runCli(["--healthcheck", "--config", config]);
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      /requires authentication.*set PROXY_SERVER_HEALTHCHECK_USERNAME and PROXY_SERVER_HEALTHCHECK_PASSWORD/,
    );
    // A plain-text greeting to the TLS listener fails the check.
    const plain = await runCli(["--healthcheck", "--listen", `127.0.0.1:${proxy.ports[0]}`, "--timeout-seconds", "2"]);
    assert.equal(plain.code, 1);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("--healthcheck reads ./proxy.json by default, and a config it cannot load exits 1, not 2", async () => {
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  try {
    const dir = mkdtempSync(join(tmpdir(), "proxy-server-hc-"));
    const empty = await runCli(["--healthcheck"], { cwd: dir });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^proxy\.json: \$: cannot read the file/);
    assert.match(empty.stderr, /unhealthy: cannot load the configuration/);
    writeFileSync(
      join(dir, "proxy.json"),
      JSON.stringify({ proxy_listeners: [{ listen: `127.0.0.1:${proxy.ports[0]}` }] }),
    );
    const found = await runCli(["--healthcheck"], { cwd: dir });
    assert.equal(found.code, 0, found.stderr);
    writeFileSync(join(dir, "proxy.json"), JSON.stringify({ proxy_listeners: [{ listen: "nowhere" }] }));
    assert.equal((await runCli(["--healthcheck"], { cwd: dir })).code, 1);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
