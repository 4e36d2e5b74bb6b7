/**
 * Test helper: run the real `proxy-server` CLI as a child process on the
 * runtime the test itself runs on (Deno under `deno test`, Bun under `bun
 * test`), with a config written to a temporary file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/**
 * Send `signal` to a child. `process.kill(pid)` rather than `child.kill()`:
 * Deno's node:child_process reports a child it signalled through
 * `child.kill()` as killed by that signal even when the child handled it and
 * exited 0, which would hide the exit status the tests check.
 */
export function sendSignal(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(child.pid, signal);
  } catch {
    // already gone
  }
}

/** Repository root. */
export const ROOT = new URL("../..", import.meta.url).pathname;

/** The command that runs the CLI from source on the current runtime. */
export function cliCommand(): string[] {
  const main = join(ROOT, "src/cli/main.ts");
  if ("Deno" in globalThis) {
    return [process.execPath, "run", "--allow-all", "--quiet", "--config", join(ROOT, "deno.json"), main];
  }
  return [process.execPath, main];
}

/** Write `config` (an object or raw text) to a fresh temporary file and return its path. */
export function writeTempConfig(config: unknown, name = "proxy.json"): string {
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-test-"));
  const file = join(dir, name);
  writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config, null, 2));
  return file;
}

/** Result of a CLI run that was allowed to finish. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI with `args` to completion (bounded by `timeoutMs`), in `cwd`
 * (default the repository root); `command` replaces the from-source command
 * (e.g. a built binary).
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; command?: string[] } = {},
): Promise<CliResult> {
  const [cmd, ...pre] = options.command ?? cliCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => stdout += d.toString());
    child.stderr!.on("data", (d) => stderr += d.toString());
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`CLI ${args.join(" ")} did not finish in time; stderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running proxy-server child process. */
export interface RunningProxy {
  child: ChildProcess;
  /** The config file the proxy was started with (rewrite it and send SIGHUP to reload). */
  configFile: string;
  /** Real ports of the proxy listeners, in config order. */
  ports: number[];
  /** Real ports of the HTTP listeners (`http_listeners`), in config order. */
  httpPorts: number[];
  /** Everything written to stderr so far (the log). */
  log(): string;
  /** Wait until the log matches `pattern` (bounded by `timeoutMs`). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolve with the exit code once the process exits by itself (reject after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<number | null>;
  /** Send `signal` and resolve with the exit code (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * Start the proxy on `config` and wait for its `proxy listener on ADDR:PORT`
 * lines, one per entry of `config.proxy_listeners` (the `http listener on`
 * lines come before them). `command` replaces the
 * from-source command (e.g. a built binary), `cwd` the repository root.
 */
export async function startProxy(
  config: { proxy_listeners: unknown[] } & Record<string, unknown>,
  options: { env?: Record<string, string>; args?: string[]; command?: string[]; cwd?: string } = {},
): Promise<RunningProxy> {
  const file = writeTempConfig(config);
  const [cmd, ...pre] = options.command ?? cliCommand();
  const child = spawn(cmd, [...pre, "--config", file, ...(options.args ?? [])], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const waiters = new Set<() => void>();
  const poke = () => waiters.forEach((w) => w());
  child.stderr!.on("data", (d) => {
    stderr += d.toString();
    poke();
  });
  child.stdout!.on("data", () => {});
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      poke();
      resolve(code);
    })
  );
  let done = false;
  exited.then(() => done = true);
  const waitForLog = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stderr)) {
          finish();
          resolve();
        } else if (done) {
          finish();
          reject(new Error(`proxy exited before logging ${pattern}; log:\n${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${pattern}; log:\n${stderr}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const count = config.proxy_listeners.length;
  const re = /proxy listener on (?:\[[^\]]+\]|[^\s:]+):(\d+)/g;
  try {
    await waitForLog(new RegExp(`(proxy listener on [^\\n]*\\n[^]*){${count}}`));
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const ports = [...stderr.matchAll(re)].map((m) => Number(m[1]));
  // HTTP listeners are bound before the proxy listeners, so their lines are in.
  const httpPorts = [...stderr.matchAll(/http listener on (?:\[[^\]]+\]|[^\s:]+):(\d+)/g)].map((m) => Number(m[1]));
  return {
    child,
    configFile: file,
    ports,
    httpPorts,
    log: () => stderr,
    waitForLog,
    exited: (timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`proxy did not exit; log:\n${stderr}`)), timeoutMs);
        exited.then((code) => {
          clearTimeout(timer);
          resolve(code);
        });
      }),
    async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000) {
      if (!done) sendSignal(child, signal);
      const timer = setTimeout(() => sendSignal(child, "SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
