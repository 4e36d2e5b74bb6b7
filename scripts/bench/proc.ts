/**
 * Child processes for the benchmark: spawning servers with a raised file
 * limit, waiting for a port, reading the resident memory of a process tree,
 * and stopping everything that was started (also on Ctrl-C).
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import process from "node:process";

/** File limit asked for the servers (10,000 idle tunnels need two descriptors each). */
export const NOFILE = 65536;

const running = new Set<ChildProcess>();

/** Stop every child still running (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...running].map((c) => stop(c, graceMs)));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    for (const c of running) kill(c, "SIGKILL");
    process.exit(130);
  });
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Start `argv` with RLIMIT_NOFILE raised to {@linkcode NOFILE} (or the hard
 * limit when that is lower and we are not root), output discarded.
 * `stdin` "pipe" lets the caller end the child by closing its input.
 */
export function spawnServer(
  argv: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): ChildProcess {
  const script = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  const child = spawn("bash", ["-c", script, "bash", ...argv], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "ignore", "ignore"],
  });
  track(child);
  return child;
}

/** Remember `child` so {@linkcode stopAll} and Ctrl-C reach it. */
export function track(child: ChildProcess): void {
  running.add(child);
  child.on("exit", () => running.delete(child));
}

/** SIGTERM `child`, SIGKILL after `graceMs`; resolves once it has exited. */
export function stop(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => kill(child, "SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    kill(child, "SIGTERM");
  });
}

/** The kernel's ephemeral port range (ip_local_port_range). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    return [lo, hi];
  } catch {
    return [32768, 60999];
  }
}

let nextPort = 20_000 + Math.floor(Math.random() * 5000);

/** Whether 127.0.0.1:`port` can be listened on now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1 outside the ephemeral range, so that a run
 * which used up the ephemeral ports (TIME_WAIT after bind-before-connect)
 * cannot keep the next server from listening.
 */
export async function freePort(): Promise<number> {
  const [lo, hi] = ephemeralRange();
  for (let tries = 0; tries < 2000; tries++) {
    const port = nextPort++;
    if (nextPort > 30_000) nextPort = 20_000;
    if (port >= lo && port <= hi) continue;
    if (await canListen(port)) return port;
  }
  throw new Error("no free port outside the ephemeral range");
}

/** Sockets in TIME_WAIT (IPv4 and IPv6), from /proc/net/tcp*. */
export function timeWaitCount(): number {
  let n = 0;
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of readFileSync(f, "utf8").split("\n")) if (line.trim().split(/\s+/)[3] === "06") n++;
    } catch {
      // no IPv6
    }
  }
  return n;
}

/**
 * Wait (at most `maxMs`, TIME_WAIT lasts 60 s on Linux) until fewer than
 * `below` sockets are in TIME_WAIT, so that a server which binds its source
 * before connecting starts from the same clean state in every run instead
 * of inheriting the ports the previous run left behind.
 */
export async function waitForQuietPorts(below = 1000, maxMs = 65_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (timeWaitCount() >= below && Date.now() < deadline) await sleep(1000);
}

/** Resolve once 127.0.0.1:`port` accepts a TCP connection; reject after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 20_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Wait `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Parent pid of every process, read from /proc. */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/** Resident memory (bytes) of `pid` and all its descendants (Dante forks workers). */
export function treeRss(pid: number): number {
  const children = parents();
  let total = 0;
  const todo = [pid];
  for (let i = 0; i < todo.length && i < 10_000; i++) {
    const p = todo[i];
    try {
      const m = readFileSync(`/proc/${p}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // exited meanwhile
    }
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}

/** First line of `cmd args` output, or `undefined` when it cannot run. */
export function firstLine(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0 && !r.stdout) return undefined;
  return (r.stdout || r.stderr).split("\n")[0].trim() || undefined;
}
