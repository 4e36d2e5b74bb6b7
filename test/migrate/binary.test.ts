// The Lua converter inside the single executable: `scripts/build --host-only`
// embeds wasmoon's glue.wasm, so the binary, alone in an empty directory
// (no node_modules above it), still converts a KumoProxy policy.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runCli } from "../helpers/proxy-process.ts";

let work = "";
let runDir = "";

before(async () => {
  work = mkdtempSync(join(tmpdir(), "proxy-server-lua-binary-"));
  const built = join(work, "build");
  await new Promise<void>((resolve, reject) => {
    execFile(
      "bash",
      [join(ROOT, "scripts/build"), "--host-only", "--out", built],
      { timeout: 300_000 },
      (error, _stdout, stderr) => error ? reject(new Error(`scripts/build failed: ${stderr}`)) : resolve(),
    );
  });
  runDir = join(work, "run");
  mkdirSync(runDir);
  copyFileSync(join(built, "proxy-server"), join(runDir, "proxy-server"));
  rmSync(built, { recursive: true });
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the built binary converts a Lua policy with no node_modules around it", async () => {
  writeFileSync(
    join(runDir, "init.lua"),
    "kumo.on('proxy_init', function()\n  kumo.start_proxy_listener { listen = '127.0.0.1:0', timeout = 30 }\nend)\n",
  );
  const result = await runCli(["--convert-proxy-config", "init.lua"], {
    command: [join(runDir, "proxy-server")],
    cwd: runDir,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { proxy_listeners: [{ listen: "127.0.0.1:0", timeout: "30s" }] });
});
