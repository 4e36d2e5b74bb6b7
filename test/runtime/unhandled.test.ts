import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const fixture = join(here, "fixtures", "unhandled.ts");

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: onUnhandledRejection reports a rejection nobody handles and the process keeps running`, () => {
    const bin = join(root, "node_modules", ".bin", runtime);
    const argv = runtime === "deno" ? ["run", "--allow-all", "--config", join(root, "deno.json"), fixture] : [fixture];
    const out = execFileSync(bin, argv, {
      cwd: root,
      encoding: "utf8",
      timeout: 20_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
    assert.equal(out, "handled: nobody listens\nstill running\n");
  });
}
