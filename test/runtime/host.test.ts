// Runtime adapter: the non-network members (env, files, signals, args).
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { getRuntime } from "../../src/runtime/index.ts";
import { deadline } from "./helpers.ts";

const rt = getRuntime();

test("env() returns a set variable and undefined for an unset one", () => {
  assert.equal(rt.env("PATH"), process.env.PATH);
  assert.equal(rt.env("PROXY_SERVER_SURELY_UNSET_VARIABLE_42"), undefined);
});

test("readTextFile() reads UTF-8 and rejects ENOENT for a missing file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rt-test-"));
  try {
    const path = join(dir, "proxy.json");
    await writeFile(path, '{"listen":"127.0.0.1:1080","note":"grüße ✓"}');
    assert.equal(await rt.readTextFile(path), '{"listen":"127.0.0.1:1080","note":"grüße ✓"}');
    await assert.rejects(rt.readTextFile(join(dir, "missing.json")), (e: unknown) => {
      assert.equal((e as { code?: string }).code, "ENOENT");
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("onSignal() delivers SIGHUP to each handler; the returned function unsubscribes", async () => {
  let a = 0;
  let b = 0;
  let first: () => void = () => {};
  let second: () => void = () => {};
  const once = new Promise<void>((r) => first = r);
  const twice = new Promise<void>((r) => second = r);
  const offA = rt.onSignal("SIGHUP", () => {
    a++;
  });
  const offB = rt.onSignal("SIGHUP", () => {
    b++;
    (b === 1 ? first : second)();
  });
  try {
    process.kill(process.pid, "SIGHUP");
    await deadline(once, 5000, "first SIGHUP");
    assert.deepEqual([a, b], [1, 1]);
    offA();
    process.kill(process.pid, "SIGHUP");
    await deadline(twice, 5000, "second SIGHUP");
    assert.deepEqual([a, b], [1, 2], "the unsubscribed handler is not called");
  } finally {
    offA();
    offB();
  }
});

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, "fixtures", "print-args.ts");
const root = join(here, "..", "..");
const ARGV = ["a", "--config", "proxy file.json", "-v"];

test("args: a script run by the current runtime sees exactly the arguments after the script", () => {
  const isDeno = "Deno" in globalThis;
  const argv = isDeno ? ["run", "-A", "--config", join(root, "deno.json"), fixture, ...ARGV] : [fixture, ...ARGV];
  const r = spawnSync(process.execPath, argv, { encoding: "utf8", timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { name: isDeno ? "deno" : "bun", args: ARGV });
});

test("args: a `bun build --compile` executable sees exactly the arguments after the executable", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rt-compile-"));
  try {
    const exe = join(dir, "print-args");
    const bun = join(root, "node_modules", ".bin", "bun");
    const build = spawnSync(bun, ["build", "--compile", fixture, "--outfile", exe], {
      encoding: "utf8",
      timeout: 60000,
    });
    assert.equal(build.status, 0, build.stderr);
    const r = spawnSync(exe, ARGV, { encoding: "utf8", timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { name: "bun", args: ARGV });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
