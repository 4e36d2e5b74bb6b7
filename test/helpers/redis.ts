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
  /** Send one command and resolve with the raw reply text: a simple, integer or bulk reply (bounded: 5 s). */
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
function spawnRedis(port: number, dir: string, logs: string[], extra: string[] = []): Promise<ChildProcess> {
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
    ...extra,
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

/**
 * Start a redis-server on a free loopback port (up to 8 ports are tried if
 * one is taken meanwhile, each in a fresh directory); `extra` arguments go
 * to redis-server. With `clusterBus`, the port is drawn from 20000–22767 so
 * that its cluster bus port (port + 10000) is below the kernel's ephemeral
 * range (32768 up) too: a bus port there can be held by any outgoing
 * connection of the machine.
 */
export async function startRedis(extra: string[] = [], clusterBus = false): Promise<RedisPeer> {
  let dir = "";
  const logs: string[] = [];
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; attempt < 8 && child === undefined; attempt++) {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), "proxy-redis-"));
    port = clusterBus ? 20000 + Math.floor(Math.random() * 2768) : await freePort();
    child = await spawnRedis(port, dir, logs, extra).catch((error) => {
      if (attempt === 7) throw error;
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
          const bulk = /^\$(\d+)\r\n/.exec(text);
          const complete = bulk ? text.length >= bulk[0].length + Number(bulk[1]) + 2 : /\r\n$/.test(text);
          if (complete) {
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
      current = await spawnRedis(port, dir, logs, extra);
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Three redis-server nodes on loopback joined into one Redis Cluster (no
 * replicas): slots split in three (`CLUSTER ADDSLOTSRANGE`), nodes
 * introduced with `CLUSTER MEET`; resolves once every node reports
 * `cluster_state:ok` (bounded: 20 s).
 */
export async function startRedisCluster(): Promise<RedisPeer[]> {
  const nodes: RedisPeer[] = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startRedis(["--cluster-enabled", "yes"], true));
    const ranges = [[0, 5460], [5461, 10922], [10923, 16383]];
    for (const [i, node] of nodes.entries()) {
      const reply = await node.command("CLUSTER", "ADDSLOTSRANGE", String(ranges[i][0]), String(ranges[i][1]));
      if (!reply.startsWith("+OK")) throw new Error(`ADDSLOTSRANGE: ${reply}`);
    }
    for (const node of nodes.slice(1)) await nodes[0].command("CLUSTER", "MEET", "127.0.0.1", String(node.port));
    const until = Date.now() + 20_000;
    for (let i = 0; i < 400; i++) {
      const infos = await Promise.all(nodes.map((n) => n.command("CLUSTER", "INFO")));
      if (infos.every((info) => /cluster_state:ok/.test(info) && /cluster_known_nodes:3/.test(info))) return nodes;
      if (Date.now() > until) throw new Error(`the cluster did not form: ${infos.join(" | ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the cluster did not form");
  } catch (error) {
    await Promise.all(nodes.map((n) => n.close()));
    throw error;
  }
}
