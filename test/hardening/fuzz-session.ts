/**
 * The in-process fuzz: the cases of `fuzz-cases.ts` put through the real
 * session code (`runSession`) over in-memory client connections
 * (`test/helpers/memory-conn.ts`), many sessions at once, with the
 * context a server builds (its listener settings, user store, access
 * policy, the metrics observer behind the access log, the runtime's BIND
 * probe), and per-session checks no socket test can make cheaply.
 *
 * What {@linkcode runSessionFuzz} checks, per case: the session resolves
 * (never rejects, never hangs past the case time-out), its outcome is a
 * well-formed `SessionOutcome` (a known `end`, REP and CMD in range, byte
 * counts that are whole numbers, the listener and client it was given) and
 * is the one `sessionEnded` received, exactly once (and the observer's
 * `accepted` and `closed` are called once per session); every byte written to
 * the client parses as the replies RFC 1928 and RFC 1929 allow, in order
 * (method selection `05 00|02|FF`, then `01 00|01` after 0x02, then
 * `05 REP 00 ATYP BND.ADDR BND.PORT` replies, nothing after a refusal), the
 * tunnel bytes after a CONNECT reply are exactly `bytesDown`; the client
 * was closed; every outbound connection was closed; a case that does not
 * stall never ends in `timeout` or `idle` (that would be a session waiting
 * on input that had ended). Over the run: the metrics' active count is
 * back to 0, every timer the sessions started was cleared or fired, no
 * promise rejection went unhandled, no log line at ERROR or above, the
 * loopback echo target has no connection left, and no CONNECT reached
 * the dialer for anything but the safe targets.
 *
 * The socket fuzz (`fuzz-client.ts`) stays the check of what only a
 * process shows: descriptors, `/metrics`, stderr, a CONNECT served after.
 *
 * @module
 */
import process from "node:process";
import { configureLogging } from "../../src/log/index.ts";
import { MetricsObserver, ProxyMetrics } from "../../src/metrics/index.ts";
import { compileAccessPolicy } from "../../src/access/index.ts";
import { type Conn, getRuntime, type NetAddr, NetError } from "../../src/runtime/index.ts";
import {
  type Dialer,
  directDialer,
  type OutboundRequest,
  PolicyAccess,
  type ProxyListenerSpec,
  type ProxyObserver,
  runSession,
  type SessionContext,
  type SessionEnd,
  type SessionOutcome,
  UserStore,
  withAccessLog,
} from "../../src/server/index.ts";
import { sessionSettings } from "../../src/server/listener-spec.ts";
import { EchoConn, ScriptedConn, type ScriptedEnding } from "../helpers/memory-conn.ts";
import { closedPort } from "../helpers/peers.ts";
import { FUZZ_USER, type FuzzCase, nextCase, Prng } from "./fuzz-cases.ts";
import { pollUntil, startEcho } from "./fuzz-client.ts";

/** Options of {@linkcode runSessionFuzz}. */
export interface SessionFuzzOptions {
  /** Cases to run. */
  count: number;
  /** PRNG seed: the same seed makes the same cases (the socket fuzz's, for the same seed) and the same choices. */
  seed: number;
  /** Stop starting cases after this many milliseconds (the count may then not be reached). */
  deadlineMs: number;
  /** Sessions running at once; default 128. */
  concurrency?: number;
  /**
   * A session not settled after this long counts as hung (its client is
   * closed and the run goes on without it); default 2,000 ms, far below
   * the 10 s `timeout` of the listeners whose clients do not stall.
   */
  caseTimeoutMs?: number;
  /**
   * The same for a session that dialled a real socket, default 8,000 ms:
   * under the suite's load, Deno was seen completing loopback connects
   * 1-1.9 s late (all at once, early in the run, never on Bun).
   */
  socketCaseTimeoutMs?: number;
  /**
   * Share of the CONNECTs to the echo target that go through the real
   * direct dialer to a loopback echo server (the rest get an in-memory
   * echo: a real connect and accept, both in this process, cost more than
   * the session itself); default 0.2, about 1,200 real connects in 100,000 cases.
   */
  realDialShare?: number;
  /** Share of cases whose client stops sending (no FIN) instead of ending; default 0.02. */
  stallShare?: number;
}

/** What {@linkcode runSessionFuzz} did and found. */
export interface SessionFuzzStats {
  /** The seed used. */
  seed: number;
  /** Sessions run to their end. */
  cases: number;
  /** Cases per generator kind. */
  byKind: Record<string, number>;
  /** Sessions per `SessionOutcome.end`. */
  byEnd: Record<string, number>;
  /** CONNECTs to the echo target through the real dialer (loopback sockets) and the in-memory echo; to the closed port. */
  dials: { real: number; memory: number; refused: number };
  /** Cases whose session broke a check (see the module docs): the count, and the first few with their bytes. */
  failures: number;
  /** The first failures, each with its case as hex. */
  failureSamples: string[];
  /** Sessions that did not settle within the case time-out. */
  hung: number;
  /** The metrics' `proxy_active_connections` after the run (summed over listeners). */
  activeAfter: number;
  /** Timers started during the run and neither cleared nor fired at the end. */
  timersLeft: number;
  /** Reasons of promise rejections nobody handled during the run. */
  unhandled: string[];
  /** Log lines at ERROR or FATAL during the run. */
  logProblems: string[];
  /** Connections the loopback echo target still had open at the end. */
  echoOpen: number;
  /** Wall time, milliseconds. */
  elapsedMs: number;
  /** `cases / elapsed seconds`. */
  casesPerSecond: number;
}

/** Every `SessionEnd` (a missing or extra one is a type error). */
const ENDS: Record<SessionEnd, true> = {
  completed: true,
  auth_failed: true,
  no_acceptable_method: true,
  protocol_error: true,
  denied: true,
  timeout: true,
  relay_error: true,
  error: true,
  shutdown: true,
  idle: true,
};

/** The destinations (and BIND sources) `makeSafe` leaves in a request. */
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Why the bytes written to the client are not the replies RFC 1928/1929
 * allow for outcome `o`, or undefined when they are. See the module docs.
 */
export function replyProblem(w: Uint8Array, o: SessionOutcome): string | undefined {
  if (w.length === 0) return undefined;
  if (w.length < 2 || w[0] !== 5) return `method selection expected, got ${hex(w.subarray(0, 2))}`;
  const method = w[1];
  if (method !== 0 && method !== 2 && method !== 0xff) return `method 0x${method.toString(16)} selected`;
  let p = 2;
  if (method === 0xff) return p === w.length ? undefined : `bytes after NO ACCEPTABLE METHODS`;
  if (method === 2 && p < w.length) {
    if (w.length < p + 2 || w[p] !== 1 || (w[p + 1] !== 0 && w[p + 1] !== 1)) {
      return `RFC 1929 status expected, got ${hex(w.subarray(p, p + 2))}`;
    }
    p += 2;
    if (w[p - 1] === 1) return p === w.length ? undefined : "bytes after an authentication failure";
  }
  let successes = 0;
  while (p < w.length) {
    if (w.length < p + 4) return `truncated reply ${hex(w.subarray(p))}`;
    const [ver, rep, rsv, atyp] = w.subarray(p, p + 4);
    if (ver !== 5 || rep > 8 || rsv !== 0 || (atyp !== 1 && atyp !== 4)) {
      return `malformed reply header ${hex(w.subarray(p, p + 4))}`;
    }
    const end = p + 4 + (atyp === 1 ? 4 : 16) + 2;
    if (w.length < end) return `truncated reply ${hex(w.subarray(p))}`;
    p = end;
    if (rep !== 0) return p === w.length ? undefined : `bytes after a refusal (REP ${rep})`;
    successes++;
    // A successful BIND (the first reply when a source was bound) is followed by the next request's reply.
    if (successes === 1 && o.bindAddress !== undefined) continue;
    const tunnel = w.length - p;
    return tunnel === o.bytesDown ? undefined : `${tunnel} tunnel bytes written, bytesDown ${o.bytesDown}`;
  }
  return undefined;
}

/** Why `o` is not a well-formed outcome of a session on `listener` from `client`, or undefined. */
export function outcomeProblem(o: SessionOutcome, listener: string, client: NetAddr): string | undefined {
  if (ENDS[o.end] !== true) return `unknown end ${JSON.stringify(o.end)}`;
  if (o.listener !== listener) return `listener ${o.listener}, expected ${listener}`;
  if (o.client.host !== client.host || o.client.port !== client.port) return `client ${JSON.stringify(o.client)}`;
  if (o.reply !== undefined && !(Number.isInteger(o.reply) && o.reply >= 0 && o.reply <= 8)) return `REP ${o.reply}`;
  if (o.command !== undefined && !(Number.isInteger(o.command) && o.command >= 0 && o.command <= 255)) {
    return `CMD ${o.command}`;
  }
  for (const n of [o.bytesUp, o.bytesDown]) if (!Number.isInteger(n) || n < 0) return `byte count ${n}`;
  if (!(o.durationSeconds >= 0) || !Number.isFinite(o.durationSeconds)) return `duration ${o.durationSeconds}`;
  if (typeof o.detail !== "string" && o.end !== "completed") return `no detail for end ${o.end}`;
  if (o.end === "auth_failed" && o.user === undefined) return "auth_failed without the username tried";
  return undefined;
}

/** The timers started while it is installed that are still pending. */
interface TimerWatch {
  /** How many are pending. */
  pending(): number;
  /** Where the pending intervals were started (timeouts are too many to record a stack each). */
  intervalStacks(): string[];
  /** Put the global timer functions back. */
  restore(): void;
  /** The original `setInterval`, for the harness's own watchdog. */
  setInterval: typeof setInterval;
  /** The original `clearInterval`. */
  clearInterval: typeof clearInterval;
}

/**
 * Deno's memory trimmer (`src/runtime/deno/trim.ts`): one unref'd
 * process-wide check timer, started at the first close of a native
 * connection, which stops itself after two idle minutes. Not a session's.
 */
const HOUSEKEEPING = /src\/runtime\/deno\/trim\.ts/;

/**
 * Wrap the global timer functions to count the timers started meanwhile
 * and not yet cleared or fired (the sessions' step deadlines, the
 * dialer's per-address shares, the relay's idle sweep).
 */
function watchTimers(): TimerWatch {
  const g = globalThis as unknown as Record<string, unknown>;
  const orig = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
  };
  // Deno's timers are numbers; Bun's are objects, which convert to their id.
  const key = (h: unknown) => (typeof h === "object" && h !== null && Symbol.toPrimitive in h ? Number(h) : h);
  const timeouts = new Set<unknown>();
  const intervals = new Map<unknown, string>();
  g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const h = orig.setTimeout(
      (...a: unknown[]) => {
        timeouts.delete(key(h));
        fn(...a);
      },
      ms,
      ...args,
    );
    timeouts.add(key(h));
    return h;
  };
  g.clearTimeout = (h: unknown) => {
    timeouts.delete(key(h));
    orig.clearTimeout(h as number);
  };
  g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const h = orig.setInterval(fn, ms, ...args);
    const stack = new Error("setInterval").stack ?? "";
    if (!HOUSEKEEPING.test(stack)) intervals.set(key(h), stack);
    return h;
  };
  g.clearInterval = (h: unknown) => {
    intervals.delete(key(h));
    orig.clearInterval(h as number);
  };
  return {
    pending: () => timeouts.size + intervals.size,
    intervalStacks: () => [...intervals.values()],
    restore: () => Object.assign(g, orig),
    setInterval: orig.setInterval,
    clearInterval: orig.clearInterval,
  };
}

/** How one case is delivered: chunks and ending. */
function delivery(c: FuzzCase, r: Prng, stallShare: number): { chunks: Uint8Array[]; ending: ScriptedEnding } {
  const b = c.bytes;
  let chunks: Uint8Array[];
  if (c.ending === "split" && b.length > 1) {
    // As the socket fuzz splits: three writes.
    const cut1 = 1 + Math.floor(b.length / 3);
    const cut2 = Math.max(cut1, Math.floor((2 * b.length) / 3));
    chunks = [b.subarray(0, cut1), b.subarray(cut1, cut2), b.subarray(cut2)];
  } else if (r.chance(0.1)) {
    chunks = Array.from(b, (x) => Uint8Array.of(x)); // one byte per read
  } else if (r.chance(0.2) && b.length > 2) {
    const cut = 1 + r.int(b.length - 1);
    chunks = [b.subarray(0, cut), b.subarray(cut)];
  } else chunks = [b];
  const ending: ScriptedEnding = r.chance(stallShare)
    ? "stall"
    : c.ending === "rst"
    ? "rst"
    : c.ending === "rst-after-reply"
    ? "rst-after-reply"
    : "fin";
  return { chunks, ending };
}

/** A listener as the fuzz configures it (timeout 10 s, domain names allowed, no require_auth), with `extra` on top. */
function spec(port: number, extra: Partial<ProxyListenerSpec>): ProxyListenerSpec {
  return {
    listen: { host: "127.0.0.1", port, text: `127.0.0.1:${port}` },
    timeout: 10,
    require_auth: false,
    allow_domain_names: true,
    ...extra,
  };
}

/**
 * Run `options.count` fuzz cases (or as many as fit before
 * `options.deadlineMs`) through `runSession`, `options.concurrency` at a
 * time, and check each one and the whole run (see the module docs).
 * Never throws for a failed check: the stats say what failed.
 */
export async function runSessionFuzz(options: SessionFuzzOptions): Promise<SessionFuzzStats> {
  const runtime = getRuntime();
  const concurrency = Math.max(1, options.concurrency ?? 128);
  const caseTimeoutMs = options.caseTimeoutMs ?? 2_000;
  const socketCaseTimeoutMs = options.socketCaseTimeoutMs ?? 8_000;
  const realDialShare = options.realDialShare ?? 0.2;
  const stallShare = options.stallShare ?? 0.02;
  const echo = await startEcho();
  const targets = { openPort: echo.port, closedPort: await closedPort() };

  // The listeners: the socket fuzz's (with a longer timeout), one that requires authentication,
  // one without domain names, and the one stalled clients come in on
  // (short timeout and idle_timeout, so that a stall ends fast).
  const specs = [
    spec(1080, {}),
    spec(1081, { require_auth: true }),
    spec(1082, { allow_domain_names: false }),
    spec(1083, { timeout: 0.05, idle_timeout: 0.1 }),
  ];
  const labels = specs.map((s) => s.listen.text);
  const users = [{ username: FUZZ_USER.username, password: FUZZ_USER.password }];
  const metrics = new ProxyMetrics({ version: "fuzz", runtime, processMetrics: false });
  let sessionEnded = 0;
  const ended = new Map<SessionOutcome, number>();
  const inner = withAccessLog(new MetricsObserver(metrics, { listeners: labels, maxOutboundDestinations: 100 }));
  let accepted = 0;
  let closed = 0;
  const observer: ProxyObserver = {
    ...inner,
    accepted(listener) {
      accepted++;
      inner.accepted(listener);
    },
    closed(listener) {
      closed++;
      inner.closed(listener);
    },
    sessionEnded(o) {
      sessionEnded++;
      ended.set(o, (ended.get(o) ?? 0) + 1);
      inner.sessionEnded?.(o);
    },
  };
  const probeBind = (address: string) => runtime.probeBind(address);
  const access = new PolicyAccess({
    policy: compileAccessPolicy({ proxy_listeners: specs, users }),
    observer,
    selfAddresses: () => specs.map((s) => ({ host: s.listen.host, port: s.listen.port })),
    isLocal: (address) => probeBind(address).then(() => true, () => false),
  });
  const realDial = directDialer(runtime);
  const base: SessionContext[] = specs.map((s) => ({
    settings: sessionSettings(s, s.listen.text),
    users: new UserStore(users),
    dial: realDial,
    probeBind,
    observer,
    access,
    shutdown: { forced: false },
  }));

  const stats: SessionFuzzStats = {
    seed: options.seed,
    cases: 0,
    byKind: {},
    byEnd: {},
    dials: { real: 0, memory: 0, refused: 0 },
    failures: 0,
    failureSamples: [],
    hung: 0,
    activeAfter: 0,
    timersLeft: 0,
    unhandled: [],
    logProblems: [],
    echoOpen: 0,
    elapsedMs: 0,
    casesPerSecond: 0,
  };
  const fail = (c: FuzzCase, why: string) => {
    stats.failures++;
    if (stats.failureSamples.length < 10) stats.failureSamples.push(`${c.kind}/${c.ending}: ${why}: ${hex(c.bytes)}`);
  };

  const onUnhandled = (reason: unknown) => {
    if (stats.unhandled.length < 10) stats.unhandled.push(String((reason as Error)?.stack ?? reason));
    else stats.unhandled.length++;
  };
  process.on("unhandledRejection", onUnhandled);
  configureLogging({
    filter: "proxy_server=warn",
    format: "json",
    write: (line) => {
      if (/"level":"(ERROR|FATAL)"/.test(line) && stats.logProblems.length < 20) stats.logProblems.push(line);
    },
  });
  const timers = watchTimers();

  const caseRng = new Prng(options.seed);
  // A second stream for the harness's own choices, so the cases stay the socket fuzz's for the same seed.
  const choice = new Prng(options.seed ^ 0x5eed);
  // Sessions running, with when they started and how to give up on one.
  const inFlight = new Map<ScriptedConn, { since: number; c: FuzzCase; abandon: () => void; stage: string[] }>();
  const watchdog = timers.setInterval(() => {
    const now = performance.now();
    for (const [conn, f] of inFlight) {
      const limit = f.stage.length > 0 ? socketCaseTimeoutMs : caseTimeoutMs;
      if (now - f.since < limit) continue;
      inFlight.delete(conn);
      stats.hung++;
      fail(f.c, `session still running after ${limit} ms (${f.stage.join(", ") || "in memory"})`);
      conn.close();
      f.abandon();
    }
  }, 100);

  const started = performance.now();
  let issued = 0;
  const one = async (index: number) => {
    const c = nextCase(caseRng, targets);
    const { chunks, ending } = delivery(c, choice, stallShare);
    const variant = ending === "stall" ? 3 : choice.pick([0, 0, 0, 0, 0, 0, 1, 2]);
    const ctx = base[variant];
    const viaSocket = choice.chance(realDialShare);
    // What the session got to, for the message of a hung one.
    const stage: string[] = [];
    const t0 = performance.now();
    const outbound: Conn[] = [];
    let unsafe: string | undefined;
    const dial: Dialer = async (req: OutboundRequest) => {
      const { host, port } = req.destination;
      const from = req.localAddress;
      if (!LOOPBACK.has(host) || (from !== undefined && !LOOPBACK.has(from))) {
        unsafe = `CONNECT to ${host}:${port} from ${req.localAddress}`;
        throw new NetError("EACCES", "not a safe fuzz target");
      }
      if (port !== targets.openPort) {
        if (port !== targets.closedPort) unsafe = `CONNECT to port ${port}`;
        stats.dials.refused++;
        throw new NetError("ECONNREFUSED", "connection refused");
      }
      if (viaSocket) {
        stats.dials.real++;
        stage.push(`real dial at ${(performance.now() - t0).toFixed(0)} ms`);
        const conn = await realDial(req);
        stage.push(`connected at ${(performance.now() - t0).toFixed(0)} ms`);
        // Record the close (the runtime's Conn does not say whether it is closed).
        const close = conn.close.bind(conn);
        const tracked = Object.assign(conn, { closed: false });
        tracked.close = () => {
          tracked.closed = true;
          close();
        };
        outbound.push(conn);
        return conn;
      }
      stats.dials.memory++;
      const conn = new EchoConn({ host: host === "localhost" ? "127.0.0.1" : host, port }, {
        host: host === "::1" ? "::1" : "127.0.0.1",
        port: 40000 + (index % 20000),
      });
      outbound.push(conn);
      return conn;
    };
    const client = new ScriptedConn(chunks, ending, { host: "127.0.0.1", port: 1 + (index % 65535) });
    let abandon = () => {};
    const abandoned = new Promise<undefined>((resolve) => abandon = () => resolve(undefined));
    inFlight.set(client, { since: t0, c, abandon, stage });
    let o: SessionOutcome | undefined;
    try {
      // A session that never settles is given up on (the watchdog counts it) so that the run still ends.
      o = await Promise.race([runSession(client, { ...ctx, dial }), abandoned]);
    } catch (error) {
      inFlight.delete(client);
      fail(c, `runSession rejected: ${(error as Error)?.stack ?? error}`);
      return;
    }
    if (o === undefined || !inFlight.delete(client)) return; // counted as hung
    stats.cases++;
    const kind = c.kind.split("+")[0];
    stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
    stats.byEnd[o.end] = (stats.byEnd[o.end] ?? 0) + 1;
    const problem = outcomeProblem(o, ctx.settings.listener, client.remoteAddr) ??
      replyProblem(client.writtenBytes(), o) ??
      (ended.get(o) === 1 ? undefined : `sessionEnded called ${ended.get(o) ?? 0} times`) ??
      (client.closed ? undefined : "client not closed") ??
      (outbound.every((d) => (d as { closed?: boolean }).closed !== false) ? undefined : "outbound not closed") ??
      (ending !== "stall" && (o.end === "timeout" || o.end === "idle")
        ? `ended ${o.end} without a stall`
        : undefined) ??
      unsafe;
    ended.delete(o);
    if (problem !== undefined) fail(c, `${problem} (end ${o.end}, ${ending}, listener ${ctx.settings.listener})`);
  };
  // An in-memory session settles in microtasks alone: a worker that went
  // straight on to its next case would keep the event loop from timers and
  // I/O (the real dials, the echo target, the watchdog) for as long as any
  // worker had work, so each one yields to it between cases.
  const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));
  const worker = async () => {
    while (issued < options.count && performance.now() - started < options.deadlineMs) {
      await one(issued++);
      await yieldToLoop();
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
    stats.elapsedMs = performance.now() - started;
    stats.casesPerSecond = Math.round(stats.cases / (stats.elapsedMs / 1000));
    const active = await metrics.set.proxy_active_connections.get();
    stats.activeAfter = active.values.reduce((n, v) => n + v.value, 0);
    const sessions = stats.cases + stats.hung;
    if (sessionEnded !== sessions || accepted !== sessions || closed !== sessions) {
      stats.failures++;
      stats.failureSamples.push(
        `${sessions} sessions: observer.accepted ${accepted}, closed ${closed}, sessionEnded ${sessionEnded} times`,
      );
    }
  } finally {
    timers.clearInterval(watchdog);
    stats.timersLeft = timers.pending();
    if (stats.timersLeft > 0) stats.failureSamples.push(...timers.intervalStacks().slice(0, 3));
    timers.restore();
    configureLogging({ write: () => {} });
    process.off("unhandledRejection", onUnhandled);
    // The real dialer's sockets close on the echo's side a little later.
    stats.echoOpen = await pollUntil(() => echo.open(), (n) => n === 0, 5_000, 10);
    await echo.close();
  }
  return stats;
}
