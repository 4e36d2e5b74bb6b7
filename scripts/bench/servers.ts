/**
 * The servers the benchmark compares: the two references (Debian's
 * microsocks and Dante, installed with apt-get when missing) and
 * proxy-server on Bun, on Deno and as the compiled binary.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ROOT } from "./loadgen.ts";
import { firstLine, freePort, spawnServer, waitForPort } from "./proc.ts";
import { benchRules } from "./rules.ts";

/** One server under test. */
export interface Server {
  /** Row label. */
  name: string;
  /** Short key for `--only`. */
  key: string;
  /**
   * Command line serving SOCKS5 on 127.0.0.1:`port`. `bound` asks for the
   * server's own source-address option (references only; proxy-server is
   * asked by the client with KumoMTA's BIND instead).
   */
  argv(port: number, bound: boolean): string[];
  /** Whether the bound-rate client sends KumoMTA's BIND 127.0.0.1 before CONNECT. */
  kumoBind: boolean;
  /** Whether every outbound connection binds its source first (Dante's `external`), bound run or not. */
  alwaysBinds?: boolean;
  /** CONNECT only (the floors): no bound-rate run. */
  connectOnly?: boolean;
  /** The floor row (its `key`) whose figures this row is also shown as a ratio to. */
  floor?: string;
  /** Version text for the report. */
  version(): string;
  /** Whether it needs the benchmark's redis-server ({@linkcode startBenchRedis}) running first. */
  needsRedis?: boolean;
}

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
const MAIN = join(ROOT, "src", "cli", "main.ts");
const DIST = join(ROOT, "dist", "proxy-server");

/** Dante's config: no-auth CONNECT from loopback, leaving from 127.0.0.1 (`external`). */
function danteConfig(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-bench-dante-"));
  const file = join(dir, "danted.conf");
  writeFileSync(
    file,
    [
      "logoutput: /dev/null",
      `internal: 127.0.0.1 port = ${port}`,
      "external: 127.0.0.1",
      "socksmethod: none",
      "clientmethod: none",
      "user.privileged: root",
      "user.unprivileged: nobody",
      "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
      "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }",
      "",
    ].join("\n"),
  );
  return file;
}

const dpkgVersion = (pkg: string) => firstLine("dpkg-query", ["-W", "-f", "${Version}", pkg]) ?? "?";

/** microsocks (Debian package `microsocks`); `-b` is its source-address option. */
export const microsocks: Server = {
  name: "microsocks",
  key: "microsocks",
  argv: (port, bound) => ["microsocks", "-i", "127.0.0.1", "-p", String(port), ...(bound ? ["-b", "127.0.0.1"] : [])],
  kumoBind: false,
  version: () => `microsocks ${dpkgVersion("microsocks")}`,
};

/**
 * Dante (Debian package `dante-server`). Dante always leaves from its
 * `external` address, so the plain and bound runs share one config
 * (`external: 127.0.0.1`).
 */
export const dante: Server = {
  name: "Dante",
  key: "dante",
  argv: (port) => ["/usr/sbin/danted", "-f", danteConfig(port), "-p", join(tmpdir(), `danted-bench-${port}.pid`)],
  kumoBind: false,
  alwaysBinds: true,
  version: () => `dante-server ${dpkgVersion("dante-server")}`,
};

const listenArgs = (port: number) => ["--listen", `127.0.0.1:${port}`];

/** `bun N.N.N` of the Bun the Bun rows run on. */
function bunVersion(): string {
  return `bun ${firstLine(bin("bun"), ["--version"]) ?? "?"}`;
}

/** `deno --version`'s first line, for the Deno rows. */
function denoVersion(): string {
  return firstLine(bin("deno"), ["--version"]) ?? "deno ?";
}

/** proxy-server from source on Bun (the command line the tests use). */
export const proxyBun: Server = {
  name: "proxy-server (Bun)",
  key: "bun",
  argv: (port) => [bin("bun"), MAIN, ...listenArgs(port)],
  kumoBind: true,
  floor: "bun-floor",
  version: bunVersion,
};

/** proxy-server from source on Deno (the command line the tests use). */
export const proxyDeno: Server = {
  name: "proxy-server (Deno)",
  key: "deno",
  argv: (
    port,
  ) => [bin("deno"), "run", "--allow-all", "--quiet", "--config", join(ROOT, "deno.json"), MAIN, ...listenArgs(port)],
  kumoBind: true,
  floor: "deno-floor",
  version: denoVersion,
};

/**
 * The config of {@linkcode proxyBunAcl}: 100 rules and every limit (the
 * users' too), each generous enough that nothing in the benchmark is
 * refused.
 */
function aclConfig(port: number): string {
  const listen = `127.0.0.1:${port}`;
  // The users the rules name (rules may name only configured users); the
  // benchmark's clients do not authenticate, so their limit is not reached.
  const users = Array.from({ length: 99 }, (_, i) => i).filter((i) => i % 6 === 1)
    .map((i) => ({ username: `user${i}`, password: `bench-${i}`, max_connections: 1_000_000 }));
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-bench-acl-"));
  const file = join(dir, "proxy.json");
  writeFileSync(
    file,
    JSON.stringify({
      proxy_listeners: [{
        listen,
        allowed_clients: ["127.0.0.0/8", "::1"],
        max_connections: 1_000_000,
        max_connections_per_client: 1_000_000,
        connection_rate: "10000000/1s",
        idle_timeout: "1h",
      }],
      users,
      access_rules: benchRules(listen),
      default_action: "deny",
    }),
  );
  return file;
}

/** proxy-server on Bun with 100 access rules and every limit configured (issue 9's bench figure). */
export const proxyBunAcl: Server = {
  name: "proxy-server (Bun, 100 rules + limits)",
  key: "bun-acl",
  argv: (port) => [bin("bun"), MAIN, "--config", aclConfig(port)],
  kumoBind: true,
  floor: "bun-floor",
  version: bunVersion,
};

/** `redis://127.0.0.1:PORT` of the benchmark's redis-server, once {@linkcode startBenchRedis} ran. */
let benchRedisUrl: string | undefined;

/**
 * Start one redis-server (Debian's, on a free loopback port, no
 * persistence, its own temporary directory) for the cluster rows; it is
 * tracked, so the benchmark's `stopAll` stops it.
 */
export async function startBenchRedis(): Promise<void> {
  if (benchRedisUrl !== undefined) return;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-bench-redis-"));
  const child = spawnServer([
    "redis-server",
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
  ]);
  await waitForPort(port, 10_000, child);
  benchRedisUrl = `redis://127.0.0.1:${port}`;
}

/**
 * The config of the cluster rows: a plain listener with `cluster` on the
 * benchmark's Redis; with `limits`, the listener's `max_connections` and
 * `max_connections_per_client` (generous, never reached) are cluster-wide,
 * so every tunnel takes and gives back two leases in Redis. (The load
 * generator does not authenticate, so a per-user limit would never be
 * consulted; two listener leases cost at least what one user lease does.)
 */
function clusterConfig(port: number, limits: boolean): string {
  if (benchRedisUrl === undefined) throw new Error("startBenchRedis() first");
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-bench-cluster-"));
  const file = join(dir, "proxy.json");
  writeFileSync(
    file,
    JSON.stringify({
      proxy_listeners: [{
        listen: `127.0.0.1:${port}`,
        ...(limits ? { max_connections: 1_000_000, max_connections_per_client: 1_000_000 } : {}),
      }],
      cluster: { redis: { url: benchRedisUrl }, key_prefix: `bench-${port}:`, instance: `bench-${port}` },
    }),
  );
  return file;
}

/** proxy-server on Bun with `cluster` configured and no limits (suspensions are read locally: target within 5%). */
export const proxyBunCluster: Server = {
  name: "proxy-server (Bun, cluster)",
  key: "bun-cluster",
  argv: (port) => [bin("bun"), MAIN, "--config", clusterConfig(port, false)],
  kumoBind: true,
  needsRedis: true,
  floor: "bun-floor",
  version: bunVersion,
};

/** proxy-server on Bun with cluster-wide connection limits: the cost of the Redis leases per tunnel. */
export const proxyBunClusterLimits: Server = {
  name: "proxy-server (Bun, cluster + cluster-wide limits)",
  key: "bun-cluster-limits",
  argv: (port) => [bin("bun"), MAIN, "--config", clusterConfig(port, true)],
  kumoBind: true,
  needsRedis: true,
  floor: "bun-floor",
  version: bunVersion,
};

/**
 * The Bun floor (`floor-bun.ts`): the smallest correct CONNECT-only relay on
 * `Bun.listen` / `Bun.connect`, the runtime's own cost of a tunnel.
 */
export const floorBun: Server = {
  name: "Bun floor (native CONNECT relay)",
  key: "bun-floor",
  argv: (port) => [bin("bun"), join(ROOT, "scripts", "bench", "floor-bun.ts"), String(port)],
  kumoBind: false,
  connectOnly: true,
  version: bunVersion,
};

/**
 * The Deno floor (`floor-deno.ts`): the smallest correct CONNECT-only relay
 * on `Deno.listen` / `Deno.connect`, the runtime's own cost of a tunnel.
 */
export const floorDeno: Server = {
  name: "Deno floor (native CONNECT relay)",
  key: "deno-floor",
  argv: (
    port,
  ) => [bin("deno"), "run", "--allow-net", "--quiet", join(ROOT, "scripts", "bench", "floor-deno.ts"), String(port)],
  kumoBind: false,
  connectOnly: true,
  version: denoVersion,
};

/** The compiled single executable, when `dist/proxy-server` exists. */
export const proxyBinary: Server = {
  name: "proxy-server (dist binary)",
  key: "binary",
  argv: (port) => [DIST, ...listenArgs(port)],
  kumoBind: true,
  floor: "bun-floor",
  version: () => firstLine(DIST, ["--version"]) ?? "?",
};

/** Every server present on this machine, references first. */
export function servers(): Server[] {
  const cluster = spawnSync("bash", ["-c", "command -v redis-server"]).status === 0
    ? [proxyBunCluster, proxyBunClusterLimits]
    : [];
  return [
    microsocks,
    dante,
    floorBun,
    proxyBun,
    proxyBunAcl,
    ...cluster,
    floorDeno,
    proxyDeno,
    ...(existsSync(DIST) ? [proxyBinary] : []),
  ];
}

/** Install microsocks and dante-server from Debian's packages when missing. */
export function installReferences(): void {
  const need: string[] = [];
  if (spawnSync("bash", ["-c", "command -v microsocks"]).status !== 0) need.push("microsocks");
  if (!existsSync("/usr/sbin/danted")) need.push("dante-server");
  if (spawnSync("bash", ["-c", "command -v gcc"]).status !== 0) need.push("gcc", "libc6-dev");
  if (need.length === 0) return;
  console.error(`installing benchmark references: ${need.join(" ")}`);
  const sudo = process.getuid?.() === 0 ? "" : "sudo ";
  const script = `export DEBIAN_FRONTEND=noninteractive; ${sudo}apt-get update -qq && ` +
    `${sudo}apt-get install -y -qq --no-install-recommends ${need.join(" ")} >/dev/null`;
  const r = spawnSync("bash", ["-c", script], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`could not install ${need.join(" ")} (see above)`);
}
