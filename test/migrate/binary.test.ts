// The Lua converter inside the single executable: `scripts/build --host-only`
// embeds wasmoon's glue.wasm, so the binary, alone in an empty directory
// (no node_modules above it), still converts a KumoProxy policy.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildLoneBinary, type LoneBinary } from "../helpers/binary.ts";
import { runCli } from "../helpers/proxy-process.ts";

let binary: LoneBinary | undefined;
let runDir = "";

before(async () => {
  binary = await buildLoneBinary("proxy-server-lua-binary-");
  runDir = binary.runDir;
});

after(() => binary?.remove());

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
