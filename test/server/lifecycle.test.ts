// The CLI as an operator meets it: start-up lines, legacy --listen mode,
// usage errors, and the graceful stop on SIGTERM/SIGINT.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cliCommand, runCli, sendSignal, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { startEchoTarget } from "../helpers/target.ts";

test("start-up logs one 'proxy listener on ADDR:PORT' line per listener with the real port", async () => {
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }, { listen: "[::1]:0" }] });
  try {
    assert.equal(proxy.ports.length, 2);
    assert.ok(proxy.ports.every((p) => p > 0));
    assert.match(proxy.log(), new RegExp(`proxy listener on 127\\.0\\.0\\.1:${proxy.ports[0]}`));
    assert.match(proxy.log(), new RegExp(`proxy listener on \\[::1\\]:${proxy.ports[1]}`));
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("SIGTERM lets an open tunnel finish within the grace period, then exits 0", async () => {
  const echo = await startEchoTarget();
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }], shutdown_grace_period: "5s" });
  try {
    const c = await rawConnect(proxy.ports[0]);
    c.send([5, 1, 0]);
    await c.read(2);
    c.send(ipv4Request(1, "127.0.0.1", echo.port));
    assert.equal((await c.read(10))[1], 0);
    sendSignal(proxy.child, "SIGTERM");
    await proxy.waitForLog(/no longer accepting/);
    // New clients are refused...
    await assert.rejects(rawConnect(proxy.ports[0]), /ECONNREFUSED/);
    // ...while the open tunnel still flows both ways.
    c.send([7, 7, 7]);
    assert.deepEqual([...await c.read(3)], [7, 7, 7]);
    c.socket.end();
    await c.readUntilClose();
    // The last tunnel closed: the proxy exits by itself, before the grace period ends.
    assert.equal(await proxy.exited(4_000), 0);
  } finally {
    await proxy.stop("SIGKILL");
    await echo.close();
  }
});

test("SIGINT closes tunnels still open after the grace period and exits 0", async () => {
  const echo = await startEchoTarget();
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }], shutdown_grace_period: "1s" });
  try {
    const c = await rawConnect(proxy.ports[0]);
    c.send([5, 1, 0]);
    await c.read(2);
    c.send(ipv4Request(1, "127.0.0.1", echo.port));
    assert.equal((await c.read(10))[1], 0);
    assert.equal(await proxy.stop("SIGINT"), 0);
    await c.readUntilClose(5_000);
  } finally {
    await echo.close();
  }
});

test("legacy mode: --listen with --timeout-seconds and --no-splice (a no-op with a notice)", async () => {
  const [cmd, ...pre] = cliCommand();
  const child = spawn(cmd, [...pre, "--listen", "127.0.0.1:0", "--timeout-seconds", "5", "--no-splice"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listener line: ${log}`)), 15_000);
    child.stderr!.on("data", (d) => {
      log += d.toString();
      if (/proxy listener on 127\.0\.0\.1:\d+/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  assert.match(log, /--no-splice/);
  const code = await new Promise<number | null>((resolve) => {
    child.on("close", resolve);
    sendSignal(child, "SIGTERM");
  });
  assert.equal(code, 0);
});

test("usage errors exit 2 and say what to do", async () => {
  const none = await runCli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--config/);
  const both = await runCli(["--config", "proxy.json", "--listen", "127.0.0.1:0"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /mutually exclusive/);
  const unknown = await runCli(["--frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /frobnicate/);
});

test("--version prints the version and runtime; --help prints usage", async () => {
  const v = await runCli(["--version"]);
  assert.equal(v.code, 0);
  const runtime = "Deno" in globalThis ? "deno" : "bun";
  assert.match(v.stdout, new RegExp(`^proxy-server \\d+\\.\\d+\\.\\d+ \\(${runtime} [\\d.]+`));
  const h = await runCli(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--validate-config/);
});

test("a listen address already in use: exit 1 with the reason", async () => {
  const first = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  try {
    const file = writeTempConfig({ proxy_listeners: [{ listen: `127.0.0.1:${first.ports[0]}` }] });
    const second = await runCli(["--config", file]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /EADDRINUSE|in use/i);
  } finally {
    await first.stop();
  }
});
