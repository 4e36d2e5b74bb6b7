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

/** A config file like deploy/proxy.json but on a loopback port `port`. */
function deployConfig(port: number): string {
  const config = JSON.parse(readFileSync(join(ROOT, "deploy/proxy.json"), "utf8"));
  config.proxy_listeners[0].listen = `127.0.0.1:${port}`;
  return writeTempConfig(config);
}

test("the systemd unit passes systemd-analyze verify and keeps its promises (restart, file limit, reload)", async () => {
  const local = unit.replaceAll(BIN, join(ROOT, "scripts/proxy-server")).replaceAll(CONFIG, join(ROOT, "deploy/proxy.json"));
  const file = join(mkdtempSync(join(tmpdir(), "proxy-server-unit-")), "proxy-server.service");
  writeFileSync(file, local);
  const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile("systemd-analyze", ["verify", file], (error, _stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stderr }));
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

test("the Dockerfile runs `proxy-server --config` on the config it copies, and its HEALTHCHECK command reports that proxy healthy", async () => {
  assert.match(dockerfile, new RegExp(`^COPY deploy/proxy\\.json ${CONFIG.replace(/\./g, "\\.")}$`, "m"));
  const entrypoint = dockerArgv(/^ENTRYPOINT (\[.*\])$/m);
  const cmd = dockerArgv(/^CMD (\[.*\])$/m);
  const healthcheck = dockerArgv(/^HEALTHCHECK [^[]*CMD (\[.*\])$/m);
  assert.deepEqual(entrypoint, [BIN]);
  assert.deepEqual(cmd, ["--config", CONFIG]);
  assert.equal(healthcheck[0], BIN);
  // Start with the copied config on a free port (startProxy passes --config FILE itself).
  const config = JSON.parse(readFileSync(join(ROOT, "deploy/proxy.json"), "utf8"));
  config.proxy_listeners[0].listen = "127.0.0.1:0";
  const proxy = await startProxy(config);
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
