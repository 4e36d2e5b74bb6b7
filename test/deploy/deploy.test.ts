// deploy/: what can be checked without a docker engine or a running systemd.
// The unit passes `systemd-analyze verify` (with its paths pointed at this
// checkout) and its commands are valid proxy-server invocations; the
// Dockerfile's HEALTHCHECK, ENTRYPOINT and CMD, run as written against the
// config it copies (with a free port), start the proxy and report it
// healthy; SIGHUP (ExecReload) does not stop the proxy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runCli, sendSignal, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";

const unit = readFileSync(join(ROOT, "deploy/proxy-server.service"), "utf8");
const dockerfile = readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8");
const BIN = "/usr/local/bin/proxy-server";
const CONFIG = "/etc/proxy-server/proxy.json";

/** The value of `key=` in the unit (first occurrence). */
function unitValue(key: string): string {
  const m = new RegExp(`^${key}=(.*)$`, "m").exec(unit);
  assert.ok(m, `${key}= in the unit`);
  return m[1];
}

/** The JSON argv of a Dockerfile instruction (`CMD [...]`, possibly after HEALTHCHECK options). */
function dockerArgv(instruction: RegExp): string[] {
  const text = dockerfile.replace(/\\\n\s*/g, " ");
  const m = instruction.exec(text);
  assert.ok(m, `${instruction} in the Dockerfile`);
  return JSON.parse(m[1]);
}

/** deploy/proxy.json with its proxy listener on loopback port `port` and its HTTP listener on a free loopback port. */
function loopbackConfig(port: number) {
  const config = JSON.parse(readFileSync(join(ROOT, "deploy/proxy.json"), "utf8"));
  config.proxy_listeners[0].listen = `127.0.0.1:${port}`;
  for (const l of config.http_listeners ?? []) l.listen = "127.0.0.1:0";
  return config;
}

/** A config file like deploy/proxy.json but on loopback, the proxy listener on `port`. */
function deployConfig(port: number): string {
  return writeTempConfig(loopbackConfig(port));
}

test("the systemd unit passes systemd-analyze verify and keeps its promises (restart, file limit, reload)", async () => {
  const local = unit.replaceAll(BIN, join(ROOT, "scripts/proxy-server")).replaceAll(
    CONFIG,
    join(ROOT, "deploy/proxy.json"),
  );
  const file = join(mkdtempSync(join(tmpdir(), "proxy-server-unit-")), "proxy-server.service");
  writeFileSync(file, local);
  const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      "systemd-analyze",
      ["verify", file],
      (error, _stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stderr }),
    );
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr.trim(), "", "no warnings (unknown keys, bad values)");
  assert.equal(unitValue("Restart"), "always");
  assert.ok(Number(unitValue("LimitNOFILE")) >= 65536);
  assert.equal(unitValue("ExecStart"), `${BIN} --config ${CONFIG}`);
  assert.equal(unitValue("ExecReload"), "/bin/kill -HUP $MAINPID");
  // ExecStartPre, run as written (config path pointed here), accepts the shipped config.
  const pre = unitValue("ExecStartPre").split(" ");
  assert.equal(pre[0], BIN);
  const validated = await runCli(pre.slice(1).map((a) => a === CONFIG ? join(ROOT, "deploy/proxy.json") : a));
  assert.equal(validated.code, 0, validated.stderr);
});

test("the systemd unit is hardened to a systemd-analyze security exposure of 2.5 or better; a bad config is not restarted; W^X stays off for the JIT", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "proxy-server-unit-")), "proxy-server.service");
  writeFileSync(file, unit);
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      "systemd-analyze",
      ["security", "--offline=yes", "--no-pager", file],
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
  const m = /Overall exposure level for proxy-server\.service: (\d+(?:\.\d+)?)/.exec(result.stdout);
  assert.ok(m, `no exposure level in:\n${result.stdout}${result.stderr}`);
  assert.ok(Number(m[1]) <= 2.5, `exposure ${m[1]} > 2.5:\n${result.stdout}`);
  assert.equal(
    unitValue("CapabilityBoundingSet"),
    "",
    "no capabilities (add CAP_NET_BIND_SERVICE for ports below 1024)",
  );
  assert.equal(unitValue("SystemCallFilter"), "@system-service");
  assert.equal(unitValue("RestrictAddressFamilies"), "AF_INET AF_INET6 AF_UNIX");
  for (const key of ["ProtectClock", "ProtectKernelTunables", "NoNewPrivileges", "DynamicUser"]) {
    assert.equal(unitValue(key), "yes", key);
  }
  // A bad config exits 2: systemd must not restart it in a loop.
  assert.equal(unitValue("RestartPreventExitStatus"), "2");
  const bad = await runCli(["--config", writeTempConfig({ proxy_listeners: [{ listen: "nowhere" }] })]);
  assert.equal(bad.code, 2, bad.stderr);
  // Bun's and Deno's JIT write code pages: MemoryDenyWriteExecute stays off.
  assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=yes/m);
  // The shipped config listens above 1024, which needs no capability.
  const config = JSON.parse(readFileSync(join(ROOT, "deploy/proxy.json"), "utf8"));
  for (const l of [...config.proxy_listeners, ...(config.http_listeners ?? [])]) {
    assert.ok(Number(/:(\d+)$/.exec(l.listen)![1]) >= 1024, l.listen);
  }
});

test("the Dockerfile runs `proxy-server --config` on the config it copies, and its HEALTHCHECK command reports that proxy healthy", async () => {
  assert.match(dockerfile, new RegExp(`^COPY deploy/proxy\\.json ${CONFIG.replace(/\./g, "\\.")}$`, "m"));
  const entrypoint = dockerArgv(/^ENTRYPOINT (\[.*\])$/m);
  const cmd = dockerArgv(/^CMD (\[.*\])$/m);
  const healthcheck = dockerArgv(/^HEALTHCHECK [^[]*CMD (\[.*\])$/m);
  assert.deepEqual(entrypoint, [BIN]);
  assert.deepEqual(cmd, ["--config", CONFIG]);
  assert.equal(healthcheck[0], BIN);
  // Start with the copied config on free ports (startProxy passes --config FILE itself).
  const proxy = await startProxy(loopbackConfig(0));
  try {
    const args = healthcheck.slice(1).map((a) => a === CONFIG ? deployConfig(proxy.ports[0]) : a);
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stderr);
    // ExecReload's SIGHUP leaves the proxy running.
    sendSignal(proxy.child, "SIGHUP");
    await proxy.waitForLog(/configuration reloaded/);
    assert.equal((await runCli(args)).code, 0, "still healthy after SIGHUP");
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
