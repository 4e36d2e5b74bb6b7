// The start of a run is one INFO line saying what runs, on what, with what:
// `proxy-server VERSION (RUNTIME VERSION) started with FILE`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ROOT, startProxy } from "../helpers/proxy-process.ts";

test("one INFO line at start names the version, the runtime and the config file", async () => {
  const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  try {
    await proxy.waitForLog(/started with/);
    const runtime = "Deno" in globalThis ? "deno" : "bun";
    const lines = proxy.log().split("\n").filter((line) => line.includes("started with"));
    assert.equal(lines.length, 1, proxy.log());
    const escaped = `proxy-server ${version} (${runtime} `.replace(/[.()]/g, "\\$&");
    assert.match(
      lines[0],
      new RegExp(
        `\\[INFO\\] proxy_server::cli: ${escaped}\\d+\\.\\d+\\.\\d+[^)]*\\) started with ${proxy.configFile}$`,
      ),
    );
    // It comes once the listeners are bound.
    assert.ok(proxy.log().indexOf("proxy listener on") < proxy.log().indexOf("started with"));
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
