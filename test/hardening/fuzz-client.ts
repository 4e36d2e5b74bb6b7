/**
 * Sends fuzz cases (`fuzz-cases.ts`) to a running proxy over many
 * concurrent loopback connections, and the checks run on the proxy
 * afterwards: its `proxy_active_connections` gauge, its open descriptors,
 * and its stderr.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { type FuzzCase, nextCase, Prng, type SafeTargets } from "./fuzz-cases.ts";

/** Options of {@linkcode runFuzz}. */
export interface FuzzOptions {
  /** The proxy listener's port on 127.0.0.1. */
  port: number;
  /** Cases to send. */
  count: number;
  /** Connections open at once. */
  concurrency: number;
  /** PRNG seed: the same seed sends the same cases in the same order. */
  seed: number;
  /** Where the proxy may connect (see `makeSafe`). */
  targets: SafeTargets;
  /** Stop starting cases after this many milliseconds (the count may then not be reached). */
  deadlineMs: number;
  /**
   * Go on past `deadlineMs` until this many cases were started (a loaded
   * machine is slow, not wrong), but never past `hardDeadlineMs`; default 0.
   */
  minCount?: number;
  /** The bound `minCount` cannot lift, default 60,000 ms. */
  hardDeadlineMs?: number;
  /** A case whose connection the proxy has not closed after this long counts as hung, default 10,000 ms. */
  caseTimeoutMs?: number;
}

/** What {@linkcode runFuzz} did. */
export interface FuzzStats {
  /** The seed used. */
  seed: number;
  /** Cases sent (each on its own connection). */
  cases: number;
  /** Cases per generator kind. */
  byKind: Record<string, number>;
  /** Cases the proxy did not close within the case time-out. */
  hung: number;
  /** Connections that could not be made (the listener refused or was gone). */
  connectErrors: number;
  /** First few hung cases, as hex, to reproduce them. */
  hungSamples: string[];
  /** Wall time, milliseconds. */
  elapsedMs: number;
  /** `cases / elapsed seconds`. */
  casesPerSecond: number;
}

/** Close `s` with a TCP reset where the runtime can, else a plain destroy. */
function reset(s: Socket): void {
  const withReset = s as Socket & { resetAndDestroy?: () => void };
  if (typeof withReset.resetAndDestroy === "function") {
    try {
      withReset.resetAndDestroy();
      return;
    } catch {
      // fall through
    }
  }
  s.destroy();
}

type Outcome = "ok" | "hung" | "connect-error";

/** Send one case on a fresh connection and wait until the proxy has closed it (bounded). */
function runCase(port: number, c: FuzzCase, caseTimeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let connected = false;
    let done = false;
    const s = connect({ port, host: "127.0.0.1", noDelay: true });
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish("hung"), caseTimeoutMs);
    s.on("error", () => finish(connected ? "ok" : "connect-error"));
    s.on("close", () => finish(connected ? "ok" : "connect-error"));
    s.on("data", () => {
      if (c.ending === "rst-after-reply") {
        reset(s);
        finish("ok");
      }
    });
    s.once("connect", () => {
      connected = true;
      if (c.ending === "split" && c.bytes.length > 1) {
        const cut1 = 1 + Math.floor(c.bytes.length / 3);
        const cut2 = Math.max(cut1, Math.floor((2 * c.bytes.length) / 3));
        s.write(c.bytes.subarray(0, cut1));
        setImmediate(() => {
          if (done) return;
          s.write(c.bytes.subarray(cut1, cut2));
          setImmediate(() => {
            if (done) return;
            s.end(c.bytes.subarray(cut2));
          });
        });
        return;
      }
      if (c.ending === "rst") {
        s.write(c.bytes, () => {
          reset(s);
          finish("ok");
        });
        return;
      }
      s.end(c.bytes);
    });
  });
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Send `options.count` cases (or as many as fit before `deadlineMs`, and
 * at least `minCount` unless `hardDeadlineMs` ends it first),
 * `options.concurrency` connections at a time, each case generated in order
 * from the seeded PRNG, and wait until the proxy closed every connection.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzStats> {
  const r = new Prng(options.seed);
  const caseTimeoutMs = options.caseTimeoutMs ?? 10_000;
  const started = performance.now();
  const stats: FuzzStats = {
    seed: options.seed,
    cases: 0,
    byKind: {},
    hung: 0,
    connectErrors: 0,
    hungSamples: [],
    elapsedMs: 0,
    casesPerSecond: 0,
  };
  let issued = 0;
  const worker = async () => {
    const minCount = options.minCount ?? 0;
    const hard = options.hardDeadlineMs ?? 60_000;
    const more = () => {
      const elapsed = performance.now() - started;
      return elapsed < options.deadlineMs || (issued < minCount && elapsed < hard);
    };
    while (issued < options.count && more()) {
      issued++;
      const c = nextCase(r, options.targets);
      const outcome = await runCase(options.port, c, caseTimeoutMs);
      stats.cases++;
      const kind = c.kind.split("+")[0];
      stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
      if (outcome === "hung") {
        stats.hung++;
        if (stats.hungSamples.length < 5) stats.hungSamples.push(`${c.kind}/${c.ending}: ${hex(c.bytes)}`);
      } else if (outcome === "connect-error") stats.connectErrors++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  stats.elapsedMs = performance.now() - started;
  stats.casesPerSecond = Math.round(stats.cases / (stats.elapsedMs / 1000));
  return stats;
}

/** A loopback TCP echo server that half-closes when its client does; `close()` drops every connection. */
export interface Echo {
  /** Its port on 127.0.0.1. */
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections open now. */
  open(): number;
  /** Stop it. */
  close(): Promise<void>;
}

/** Start an {@linkcode Echo} on 127.0.0.1. */
export function startEcho(): Promise<Echo> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.pipe(s);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as { port: number }).port,
        accepted: () => accepted,
        open: () => sockets.size,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Number of open descriptors of process `pid` (entries of `/proc/PID/fd`). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of process `pid` in bytes (`VmRSS` of `/proc/PID/status`). */
export function rssBytes(pid: number): number {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = text.match(/^VmRSS:\s+(\d+) kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * The sum over all label sets of metric `name` in the Prometheus text served
 * at `http://127.0.0.1:PORT/metrics`.
 */
export async function scrapeMetric(httpPort: number, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  const text = await res.text();
  let sum = 0;
  let seen = false;
  for (const line of text.split("\n")) {
    if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
      seen = true;
    }
  }
  if (!seen && !text.includes(`# TYPE ${name} `)) throw new Error(`metric ${name} not served`);
  return sum;
}

/**
 * Call `read` every `everyMs` until `ok(value)` or `timeoutMs` has passed;
 * resolves with the last value either way (the caller asserts on it).
 */
export async function pollUntil<T>(
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const end = performance.now() + timeoutMs;
  let value = await read();
  for (let i = 0; i < 100_000 && !ok(value) && performance.now() < end; i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await read();
  }
  return value;
}

/**
 * Lines of a proxy's stderr that show a crash or an escaped error: stack
 * frames (`    at ...`), a runtime's `error:` / `Uncaught` report, a
 * `panic`, an unhandled rejection. Empty when the log is clean. Access-log
 * lines are records, not reports: their `detail` may quote an I/O error.
 */
export function logProblems(stderr: string): string[] {
  const bad = /^\s+at\s|\berror:|Uncaught|panic|[Uu]nhandled/;
  return stderr.split("\n").filter((line) => bad.test(line) && !line.includes(" proxy_server::access: "));
}
