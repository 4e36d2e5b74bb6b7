/**
 * One run of each benchmark figure against one server: bulk, rate, bound
 * rate, idle memory, start. Each function starts the server it needs and
 * stops it again, so figures do not disturb one another.
 *
 * @module
 */
import { holdLoadgen, runLoadgen } from "./loadgen.ts";
import { freePort, sleep, spawnServer, stop, treeRss, waitForPort, waitForQuietPorts } from "./proc.ts";
import type { Server } from "./servers.ts";

/** Sizes and durations of one benchmark pass. */
export interface Plan {
  /** Bytes downloaded through one tunnel (bulk). */
  bulkBytes: number;
  /** Concurrent clients of the rate figures. */
  clients: number;
  /** Duration of each rate run, seconds. */
  rateSeconds: number;
  /** Idle tunnels held open at once. */
  idleTunnels: number;
  /**
   * Start every rate run from a port table without TIME_WAIT sockets (they
   * make connect() search longer); when false only the runs that bind before
   * connecting wait.
   */
  settleAll: boolean;
}

/** Ports of the local target. */
export interface Target {
  /** Echo port: echoes what it reads, closes at EOF. */
  echo: number;
  /** Bulk port: reads an 8-byte little-endian byte count, sends that many bytes. */
  bulk: number;
}

/** What `loadgen rate` reports. */
export interface RateResult {
  /** Tunnels completed (CONNECT answered and the echo came back). */
  tunnels: number;
  /** Completed tunnels per second of the run. */
  rate: number;
  /** Median latency of a whole tunnel (connect to echo received), microseconds. */
  p50_us: number;
  /** 99th percentile of the same, microseconds. */
  p99_us: number;
  /** Failed attempts (connect error, error reply, early EOF, 5 s time-out, bad echo). */
  errors: number;
  /** `errors` by kind: connect, eof, reply, bind, timeout, other. */
  by_kind: Record<string, number>;
}

/** One run's figures for one server; absent where not measured. */
export interface Figures {
  /** Bulk download through one tunnel, MB/s (10^6 bytes). */
  bulkMBps?: number;
  /** The rate figure. */
  rate?: RateResult;
  /** The bound-rate figure (BIND first, or the server's source-address option). */
  bound?: RateResult;
  /** RSS growth per open idle tunnel, KiB. */
  idleKiB?: number;
  /** Idle tunnels that opened. */
  idleOpened?: number;
  /** Spawn to first served client, ms. */
  startMs?: number;
}

/** Run `work` against a fresh instance of `server` (plain or bound) on a free port. */
async function withServer<T>(server: Server, bound: boolean, work: (port: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const child = spawnServer(server.argv(port, bound));
  try {
    await waitForPort(port, 20_000, child);
    return await work(port);
  } finally {
    await stop(child);
  }
}

/** Bulk: MB/s (10^6 bytes) of one tunnel downloading `plan.bulkBytes`; port 0 is direct. */
export async function bulk(port: number, target: Target, plan: Plan): Promise<number> {
  const r = await runLoadgen<{ mbps: number; error?: string }>(["bulk", port, target.bulk, plan.bulkBytes], 120_000);
  if (r.error) throw new Error(`bulk: ${r.error}`);
  return r.mbps;
}

/** Rate: `plan.clients` clients looping tunnels for `plan.rateSeconds`; port 0 is direct. */
export function rate(port: number, target: Target, plan: Plan, bind: boolean): Promise<RateResult> {
  return runLoadgen<RateResult>(
    ["rate", port, target.echo, plan.clients, plan.rateSeconds, bind ? "bind" : "plain"],
    (plan.rateSeconds + 30) * 1000,
  );
}

/**
 * Bulk and rate against the plain server, bound rate against the bound one.
 * Runs that bind the source before connecting start only once the TIME_WAIT
 * sockets of earlier runs are gone (see `waitForQuietPorts`).
 */
export async function throughput(server: Server, target: Target, plan: Plan): Promise<Figures> {
  const out: Figures = {};
  if (server.alwaysBinds && !plan.settleAll) await waitForQuietPorts();
  await withServer(server, false, async (port) => {
    await rate(port, target, { ...plan, rateSeconds: 1 }, false); // warm-up (JIT, pools)
    out.bulkMBps = await bulk(port, target, plan);
    if (server.alwaysBinds || plan.settleAll) await waitForQuietPorts();
    out.rate = await rate(port, target, plan, false);
    if (server.kumoBind) {
      await waitForQuietPorts();
      out.bound = await rate(port, target, plan, true);
    }
  });
  if (!server.kumoBind && !server.connectOnly) {
    await waitForQuietPorts();
    out.bound = await withServer(server, true, (port) => rate(port, target, plan, false));
  }
  return out;
}

/**
 * Idle memory: resident memory growth (KiB) per open idle tunnel, with
 * `plan.idleTunnels` tunnels open at once; each has carried one 32-byte
 * echo, so both relay directions are set up. A warm-up of 200 tunnels runs
 * first so that code paths are compiled before the baseline is taken.
 */
export async function idle(
  server: Server,
  target: Target,
  plan: Plan,
): Promise<Pick<Figures, "idleKiB" | "idleOpened">> {
  if (server.alwaysBinds) await waitForQuietPorts();
  const port = await freePort();
  const child = spawnServer(server.argv(port, false));
  const parse = (line: string) => JSON.parse(line) as { opened: number; failed: number };
  try {
    await waitForPort(port, 20_000, child);
    const warm = await holdLoadgen(["idle", port, target.echo, 200], 60_000, parse);
    await warm.release();
    await sleep(500);
    const before = treeRss(child.pid!);
    const held = await holdLoadgen(["idle", port, target.echo, plan.idleTunnels], 180_000, parse);
    await sleep(1000);
    const after = treeRss(child.pid!);
    await held.release();
    const opened = held.result.opened;
    return { idleOpened: opened, idleKiB: opened > 0 ? (after - before) / 1024 / opened : undefined };
  } finally {
    await stop(child);
  }
}

const startedOnce = new Set<string>();

/**
 * Start: ms from spawning the server to its first completed SOCKS5 CONNECT
 * and echo. The first start of each server is run once more and only the
 * second counts, so the figure is a warm start (executable in the page cache).
 */
export async function start(server: Server, target: Target): Promise<number> {
  const once = async () => {
    const port = await freePort();
    const r = await runLoadgen<{ ms?: number; error?: string }>(
      ["start", port, target.echo, 20_000, ...server.argv(port, false)],
      40_000,
    );
    if (r.ms === undefined) throw new Error(`start: ${r.error}`);
    return r.ms;
  };
  if (!startedOnce.has(server.key)) {
    startedOnce.add(server.key);
    await once();
  }
  return once();
}
