// Issue 9: at start the soft open-file limit is raised to the hard limit
// (as KumoProxy does) and both numbers are logged once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { getRuntime } from "../../src/runtime/index.ts";
import { cliCommand, startProxy } from "../helpers/proxy-process.ts";

const hard = Number(execFileSync("bash", ["-c", "ulimit -Hn"]).toString().trim());

test("Runtime.raiseFileLimit sets the soft limit to the hard limit and reports both", async () => {
  const limit = await getRuntime().raiseFileLimit();
  assert.ok(!("unsupported" in limit), JSON.stringify(limit));
  assert.equal(limit.hard, hard);
  assert.equal(limit.soft, hard);
  assert.ok(limit.before <= limit.soft);
});

test("the proxy started with a lower soft limit runs at the hard limit and logs both numbers once", async () => {
  const soft = Math.min(1024, hard);
  // A bash wrapper lowers the soft limit of the proxy process only.
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] }, {
    command: ["bash", "-c", `ulimit -Sn ${soft} && exec "$@"`, "wrapper", ...cliCommand()],
  });
  try {
    const lines = proxy.log().split("\n").filter((l) => /open-file limit/.test(l));
    assert.equal(lines.length, 1, proxy.log());
    // Bun and Deno both raise the soft limit themselves when they start, so
    // "was" is usually the hard limit already; what counts is the result.
    assert.match(lines[0], new RegExp(`soft ${hard} \\(was \\d+\\), hard ${hard}`));
    const limits = readFileSync(`/proc/${proxy.child.pid}/limits`, "utf8");
    assert.match(limits, new RegExp(`Max open files\\s+${hard}\\s+${hard}`));
  } finally {
    await proxy.stop();
  }
});
