// deploy/proxy-server@.service, the template unit that runs N instances on
// one host (issue 15): it passes systemd-analyze verify as an instance
// (paths pointed at this checkout), and its ExecStartPre, run as written
// for instance 1, accepts a per-instance config with reuse_port and cluster.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runCli } from "../helpers/proxy-process.ts";

const template = readFileSync(join(ROOT, "deploy/proxy-server@.service"), "utf8");

/** The value of `key=` in the unit (first occurrence). */
function unitValue(key: string): string {
  const m = new RegExp(`^${key}=(.*)$`, "m").exec(template);
  assert.ok(m, `${key}= in the unit`);
  return m[1];
}

test("the template unit verifies as proxy-server@1 and validates a per-instance cluster config", async () => {
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-template-"));
  writeFileSync(
    join(dir, "proxy-1.json"),
    JSON.stringify({
      proxy_listeners: [{ listen: "127.0.0.1:1080", reuse_port: true }],
      http_listeners: [{ listen: "127.0.0.1:9101" }],
      cluster: { redis: { url: "redis://127.0.0.1:6379" }, instance: "host-1" },
    }),
  );
  const local = template.replaceAll("/usr/local/bin/proxy-server", join(ROOT, "scripts/proxy-server"))
    .replaceAll("/etc/proxy-server", dir);
  const units = mkdtempSync(join(tmpdir(), "proxy-server-units-"));
  writeFileSync(join(units, "proxy-server@.service"), local);
  writeFileSync(join(units, "proxy-server@1.service"), local);
  const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      "systemd-analyze",
      ["verify", join(units, "proxy-server@1.service")],
      (error, _stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stderr }),
    );
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr.trim(), "", "no warnings");
  assert.equal(unitValue("ExecStart"), "/usr/local/bin/proxy-server --config /etc/proxy-server/proxy-%i.json");
  const pre = unitValue("ExecStartPre").split(" ").slice(1)
    .map((a) => a.replace("/etc/proxy-server", dir).replace("%i", "1"));
  const validated = await runCli(pre);
  assert.equal(validated.code, 0, validated.stderr);
});
