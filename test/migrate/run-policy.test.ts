// runPolicy alone (the VM, no CLI): an endless loop is an error after the
// bound, at load time and inside proxy_init.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PolicyError, runPolicy } from "../../src/migrate/index.ts";

const env = () => undefined;

test("a policy that never finishes is a PolicyError after timeoutMs, not a hang", async () => {
  for (const text of ["while true do end", "kumo.on('proxy_init', function() while true do end end)"]) {
    const started = Date.now();
    await assert.rejects(runPolicy(text, "init.lua", { env, timeoutMs: 200 }), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.match(error.message, /^init\.lua: still running after 0\.2 s/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  }
});

test("print goes to the print callback; kumo is a global as well as a module", async () => {
  const lines: string[] = [];
  const recording = await runPolicy(
    "print('a', 1, nil)\nassert(require('kumo') == kumo)\nkumo.on('proxy_init', function() end)",
    "init.lua",
    { env, print: (line) => lines.push(line) },
  );
  assert.deepEqual(lines, ["a\t1\tnil"]);
  assert.deepEqual(recording.listeners, []);
});
