/**
 * Test helper: real third-party peers as child processes on loopback —
 * Debian's `danted` (Dante SOCKS server) and `haproxy` — each with a config
 * written to a temporary directory. Installed by scripts/test-peers.sh; a
 * missing binary makes the start reject (the test fails, it does not skip).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { sendSignal } from "./proxy-process.ts";

/** A free TCP port on 127.0.0.1 (the kernel picks it; it is released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A port on 127.0.0.1 that refuses connections and stays that way: a
 * privileged port (never handed out for port-0 listeners or as a client's
 * ephemeral port, unlike a released free port) where a connect is refused now.
 */
export async function closedPort(): Promise<number> {
  for (const port of [1, 7, 9, 13, 19, 37, 39, 42, 47]) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: "127.0.0.1" });
      s.once("connect", () => {
        s.destroy();
        resolve(false);
      });
      s.once("error", (error: Error & { code?: string }) => resolve(error.code === "ECONNREFUSED"));
    });
    if (refused) return port;
  }
  throw new Error("no closed privileged port on 127.0.0.1");
}

/** Resolve once something accepts TCP connections on `port` (bounded by `timeoutMs`). */
export async function waitForPort(
  port: number,
  child: ChildProcess,
  log: () => string,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`peer exited with ${child.exitCode}; log:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: "127.0.0.1" });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}; log:\n${log()}`);
}

/** A running peer process. */
export interface Peer {
  port: number;
  /** Everything it wrote to stdout and stderr so far. */
  log(): string;
  /** SIGTERM, then wait for the exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** `/usr/sbin/NAME` when it exists (not every PATH has /usr/sbin), else NAME. */
function sbin(name: string): string {
  return existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : name;
}

function run(cmd: string, args: string[]): { child: ChildProcess; log: () => string; exited: Promise<void> } {
  const child = spawn(sbin(cmd), args, { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (d) => text += d.toString());
  child.stderr!.on("data", (d) => text += d.toString());
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  child.on(
    "error",
    (error) => text += `\nspawn ${cmd} failed: ${error.message} (is it installed? see scripts/test-peers.sh)`,
  );
  return { child, log: () => text, exited };
}

async function started(cmd: string, args: string[], port: number): Promise<Peer> {
  const { child, log, exited } = run(cmd, args);
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (error) => reject(new Error(`${cmd} cannot be started: ${error.message}`)))
  );
  await Promise.race([waitForPort(port, child, log), spawnError]);
  return {
    port,
    log,
    async stop() {
      sendSignal(child, "SIGTERM");
      const timer = setTimeout(() => sendSignal(child, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Start Debian's Dante server (`danted`) as a standard SOCKS5 upstream:
 * no authentication, CONNECT only, listening on 127.0.0.1:PORT and leaving
 * from `external`.
 */
export async function startDante(external = "127.0.0.1"): Promise<Peer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "dante-"));
  const root = process.getuid?.() === 0;
  const config = [
    "logoutput: stderr",
    `internal: 127.0.0.1 port = ${port}`,
    `external: ${external}`,
    "clientmethod: none",
    "socksmethod: none",
    // As root, danted needs to know whom to run as; it drops to nobody for I/O.
    ...(root ? ["user.privileged: root", "user.unprivileged: nobody"] : []),
    "client pass {",
    "  from: 127.0.0.0/8 to: 0.0.0.0/0",
    "}",
    "socks pass {",
    "  from: 127.0.0.0/8 to: 0.0.0.0/0",
    "  command: connect",
    "}",
    "",
  ].join("\n");
  writeFileSync(join(dir, "danted.conf"), config);
  return await started("danted", ["-f", join(dir, "danted.conf"), "-p", join(dir, "danted.pid"), "-N", "1"], port);
}

/**
 * Start Debian's HAProxy with a TCP frontend on 127.0.0.1:PORT that expects
 * a PROXY protocol header (`accept-proxy`) and forwards to
 * 127.0.0.1:`backendPort`, logging to stderr one line per connection:
 * `proxied connection from CLIENT:PORT to DST:PORT` (the addresses of the
 * PROXY header).
 */
export async function startHaproxy(backendPort: number): Promise<Peer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "haproxy-"));
  const config = [
    "global",
    "  log stderr format raw local0 info",
    "defaults",
    "  mode tcp",
    "  log global",
    "  timeout connect 5s",
    "  timeout client 30s",
    "  timeout server 30s",
    "frontend egress",
    `  bind 127.0.0.1:${port} accept-proxy`,
    "  option logasap",
    '  log-format "proxied connection from %ci:%cp to %fi:%fp"',
    "  default_backend target",
    "backend target",
    `  server target 127.0.0.1:${backendPort}`,
    "",
  ].join("\n");
  writeFileSync(join(dir, "haproxy.cfg"), config);
  return await started("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], port);
}
