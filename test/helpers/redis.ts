/**
 * Test helper: a real Debian `redis-server` on a loopback port with its own
 * temporary directory (no persistence), started and stopped by the test.
 * Installed by scripts/test-peers.sh; a missing binary makes the start
 * reject (the test fails, it does not skip).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Buffer } from "node:buffer";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./peers.ts";
import { sendSignal } from "./proxy-process.ts";

/** A running redis-server. */
export interface RedisPeer {
  /** Its TCP port on 127.0.0.1. */
  port: number;
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  /** Everything it logged. */
  log(): string;
  /** Send one command (inline protocol) and resolve with the raw reply text (bounded: 5 s). */
  command(...args: string[]): Promise<string>;
  /** Stop it (SIGTERM, SIGKILL after 5 s); it can be started again on the same port with {@linkcode restart}. */
  stop(): Promise<void>;
  /** Freeze it (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaw it (SIGCONT). */
  resume(): void;
  /** Start it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stop it and remove its directory. */
  close(): Promise<void>;
}

/** Spawn redis-server on `port` in `dir`; resolve once it accepts connections (bounded: 10 s). */
function spawnRedis(port: number, dir: string, logs: string[]): Promise<ChildProcess> {
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--protected-mode",
    "no",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not start; log:\n${logs.join("")}`));
    }, 10_000);
    const onData = (d: Buffer) => {
      logs.push(d.toString());
      if (/Ready to accept connections/.test(logs.join(""))) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}; log:\n${logs.join("")}`));
    });
  });
}

/** Start a redis-server on a free loopback port (a few ports are tried if one is taken meanwhile). */
export async function startRedis(): Promise<RedisPeer> {
  const dir = mkdtempSync(join(tmpdir(), "proxy-redis-"));
  const logs: string[] = [];
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    port = await freePort();
    child = await spawnRedis(port, dir, logs).catch((error) => {
      if (attempt === 4) throw error;
      return undefined;
    });
  }
  let current: ChildProcess | undefined = child;
  const stop = async () => {
    const c = current;
    current = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    sendSignal(c, "SIGTERM");
    const timer = setTimeout(() => sendSignal(c, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    log: () => logs.join(""),
    command: (...args) =>
      new Promise((resolve, reject) => {
        const s = connect({ port, host: "127.0.0.1" });
        let text = "";
        const timer = setTimeout(() => {
          s.destroy();
          reject(new Error(`redis ${args.join(" ")}: no reply`));
        }, 5000);
        s.on("data", (d) => {
          text += d.toString();
          if (/\r\n$/.test(text)) {
            clearTimeout(timer);
            s.end();
            resolve(text);
          }
        });
        s.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
        const encoded = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("");
        s.write(`*${args.length}\r\n${encoded}`);
      }),
    stop,
    pause: () => current && sendSignal(current, "SIGSTOP"),
    resume: () => current && sendSignal(current, "SIGCONT"),
    async restart() {
      await stop();
      current = await spawnRedis(port, dir, logs);
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
