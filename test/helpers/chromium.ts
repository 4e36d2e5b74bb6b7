/**
 * Test helper: Debian's headless Chromium, cut off from every host but
 * loopback (`--host-resolver-rules`), so a page that needs the internet
 * fails to render here as it would on an offline machine.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Load `url`, let its scripts run (up to 15 s of virtual time), and resolve
 * with the serialised DOM (`--dump-dom`). Rejects when chromium is missing
 * or does not finish within `timeoutMs`.
 */
export function dumpDom(url: string, timeoutMs = 60_000): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), "proxy-server-chromium-"));
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    `--user-data-dir=${profile}`,
    // No name resolves, so nothing outside loopback can load.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=15000",
    "--dump-dom",
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("chromium", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d.toString());
    child.stderr.on("data", (d) => stderr += d.toString());
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      if (code === 0) resolve(stdout);
      else reject(new Error(`chromium exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}
