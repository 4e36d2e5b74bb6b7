// The start of a run is one INFO line saying what runs, on what, with what:
// `proxy-server VERSION (RUNTIME VERSION) started with FILE`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ROOT, startProxy } from "../helpers/proxy-process.ts";
import { getRuntime, KEEPALIVE_SETTINGS } from "../../src/runtime/index.ts";

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

/** The keep-alive notice lines of a proxy started on `listener` (one proxy listener), once it has started. */
async function keepAliveNotices(listener: Record<string, unknown>): Promise<string[]> {
  const proxy = await startProxy({ proxy_listeners: [listener] });
  try {
    await proxy.waitForLog(/started with/);
    return proxy.log().split("\n").filter((line) => line.includes("notice: tcp_keepalive"));
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
}

test("no keep-alive notice without tcp_keepalive settings, nor with only enabled", async () => {
  for (
    const listener of [
      { listen: "127.0.0.1:0" },
      { listen: "127.0.0.1:0", tcp_keepalive: {} },
      { listen: "127.0.0.1:0", tcp_keepalive: { enabled: true } },
      { listen: "127.0.0.1:0", tcp_keepalive: { enabled: false, interval: "30s" } },
    ]
  ) {
    assert.deepEqual(await keepAliveNotices(listener), [], JSON.stringify(listener));
  }
});

test("the keep-alive notice names exactly the written settings this runtime declares it cannot apply", async () => {
  const support = getRuntime().keepAliveSupport.tcp;
  const written = { time: "2m", interval: "30s" } as const;
  const notices = await keepAliveNotices({ listen: "127.0.0.1:0", tcp_keepalive: { enabled: true, ...written } });
  const expected = KEEPALIVE_SETTINGS.filter((s) => s in written && support[s] !== true);
  assert.ok(expected.includes("interval"), "neither runtime sets the interval");
  assert.equal(notices.length, 1, notices.join("\n"));
  for (const setting of KEEPALIVE_SETTINGS) {
    const named = notices[0].includes(`${setting} (127.0.0.1:0): `);
    assert.equal(named, expected.includes(setting), `${setting} named: ${notices[0]}`);
    if (named) assert.ok(notices[0].includes(support[setting] as string), "with the runtime's own sentence");
  }
});
