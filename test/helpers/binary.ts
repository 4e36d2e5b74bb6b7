// The single executable as a user gets it, for tests: built from the current
// source with `scripts/build --host-only`, then copied alone into an empty
// directory, so nothing above it (no node_modules) can stand in for what the
// build should have embedded.
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./proxy-process.ts";

/** A freshly built binary alone in its run directory. */
export interface LoneBinary {
  /** The empty directory the binary sits in (run it with this as cwd). */
  runDir: string;
  /** The binary's path. */
  path: string;
  /** Remove the build and the run directory. */
  remove(): void;
}

/**
 * Build the host binary into a temporary directory and copy it alone into
 * `runDir`. Rejects with the build's stderr when `scripts/build` fails
 * (bounded at 5 minutes).
 *
 * @param prefix the temporary directory's name prefix, e.g. `"proxy-server-binary-"`
 */
export async function buildLoneBinary(prefix: string): Promise<LoneBinary> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const built = join(work, "build");
  await new Promise<void>((resolve, reject) => {
    execFile(
      "bash",
      [join(ROOT, "scripts/build"), "--host-only", "--out", built],
      { timeout: 300_000 },
      (error, _stdout, stderr) => error ? reject(new Error(`scripts/build failed: ${stderr}`)) : resolve(),
    );
  });
  const runDir = join(work, "run");
  mkdirSync(runDir);
  const path = join(runDir, "proxy-server");
  copyFileSync(join(built, "proxy-server"), path);
  rmSync(built, { recursive: true });
  return { runDir, path, remove: () => rmSync(work, { recursive: true, force: true }) };
}
