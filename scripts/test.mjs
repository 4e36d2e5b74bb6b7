#!/usr/bin/env node
// Runs the whole test suite on Deno and on Bun (the same node:test files),
// after making sure the real peers the tests talk to are installed, and ends
// with one line `N passed, N failed` over both runtimes. Exit status 0 only
// when both runtimes ran and nothing failed.
//
// Usage: node scripts/test.mjs [--only deno|bun] [test paths...]
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const args = process.argv.slice(2);
let only;
if (args[0] === "--only") {
  only = args[1];
  args.splice(0, 2);
}
const paths = args.length > 0 ? args : ["test/"];

const peers = spawnSync("bash", [join(root, "scripts", "test-peers.sh")], { stdio: "inherit", cwd: root });
if (peers.status !== 0) {
  console.error("test peers could not be installed (see above)");
  console.log("0 passed, 1 failed");
  process.exit(1);
}

/** Run a command, echo its output, and resolve with { code, text }. */
function run(cmd, argv, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    const take = (stream, out) =>
      stream.on("data", (d) => {
        text += d.toString();
        out.write(d);
      });
    take(child.stdout, process.stdout);
    take(child.stderr, process.stderr);
    child.on("close", (code) => resolve({ code: code ?? 1, text }));
  });
}

// deno's ANSI colours are off so the summary line can be read back.
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

const runners = {
  deno: async () => {
    const { code, text } = await run(bin("deno"), ["test", "--allow-all", "--config", "deno.json", ...paths], {
      NO_COLOR: "1",
    });
    const m = strip(text).match(/(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
    return { code, passed: m ? +m[1] : 0, failed: m ? +m[2] : 0, parsed: !!m };
  },
  bun: async () => {
    const { code, text } = await run(bin("bun"), ["test", "--timeout", "120000", ...paths.map((p) => "./" + p.replace(/^\.\//, ""))], {
      NO_COLOR: "1",
    });
    const t = strip(text);
    const p = t.match(/^\s*(\d+) pass$/m);
    const f = t.match(/^\s*(\d+) fail$/m);
    return { code, passed: p ? +p[1] : 0, failed: f ? +f[1] : 0, parsed: !!p };
  },
};

let passed = 0;
let failed = 0;
let ok = true;
const lines = [];
for (const [name, runner] of Object.entries(runners)) {
  if (only && only !== name) continue;
  if (!existsSync(bin(name))) {
    lines.push(`${name}: not installed (run npm install)`);
    failed += 1;
    ok = false;
    continue;
  }
  const r = await runner();
  passed += r.passed;
  failed += r.failed;
  if (r.code !== 0 || !r.parsed) {
    ok = false;
    if (r.failed === 0) failed += 1; // the runner itself failed (crash, type error, no tests)
  }
  lines.push(`${name}: ${r.passed} passed, ${r.failed} failed (exit ${r.code})`);
}
console.log("\n" + lines.join("\n"));
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
