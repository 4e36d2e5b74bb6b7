/**
 * Test helpers for egress: the runtime to build sources with, a clock that
 * moves only when told, an observer that records every signal, a log
 * collector, and SOCKS5 tunnels through a proxy-server child.
 */
import assert from "node:assert/strict";
import type { Clock, ClockTimer, EgressObserver } from "../../src/egress/index.ts";
import { configureLogging } from "../../src/log/index.ts";
import { getRuntime, type Runtime } from "../../src/runtime/index.ts";
import { ipv4Request, type RawClient, rawConnect } from "../helpers/raw-client.ts";

/** The runtime of this process, for the `runtime` option of sources and registries. */
export const runtime: Runtime = getRuntime();

/**
 * A {@linkcode Clock} on virtual time: `now()` stands still until
 * {@linkcode ManualClock.advance}, which runs the timers that fall due, in
 * due order, each at its own time.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();

  /** @param start the first `now()`, milliseconds (any origin: only differences matter) */
  constructor(start = 1_000_000) {
    this.#now = start;
  }

  /** Virtual milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Run `callback` once the clock has been advanced `ms` past now. */
  setTimeout(callback: () => void, ms: number): ClockTimer {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  /** Forget a timer; one that fired or was cleared is ignored. */
  clearTimeout(timer: ClockTimer): void {
    this.#timers.delete(timer as number);
  }

  /** Timers armed and not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Move the clock `ms` forward, running each timer that falls due on the
   * way at its due time (earliest first, ties in the order they were set),
   * including timers those callbacks set.
   */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].callback();
    }
    this.#now = end;
  }
}

/** One recorded observer call. */
export type Signal = [name: keyof EgressObserver, source: string, detail?: string | boolean];

/** An {@linkcode EgressObserver} that records calls, plus helpers to read them. */
export function recorder(): EgressObserver & {
  calls: Signal[];
  count(name: keyof EgressObserver, source: string, detail?: string | boolean): number;
  lastHealth(source: string): boolean | undefined;
} {
  const calls: Signal[] = [];
  return {
    calls,
    connectionFailed: (s, k) => calls.push(["connectionFailed", s, k]),
    suspended: (s, r) => calls.push(["suspended", s, r]),
    unsuspended: (s, r) => calls.push(["unsuspended", s, r]),
    connectionOpened: (s) => calls.push(["connectionOpened", s]),
    connectionClosed: (s) => calls.push(["connectionClosed", s]),
    healthChanged: (s, h) => calls.push(["healthChanged", s, h]),
    count: (name, source, detail) =>
      calls.filter((c) => c[0] === name && c[1] === source && (detail === undefined || c[2] === detail)).length,
    lastHealth: (source) => calls.filter((c) => c[0] === "healthChanged" && c[1] === source).at(-1)?.[2] as boolean,
  };
}

/** Collect log lines of `proxy_server` at `level` and above; returns the collected text. */
export function collectLogs(filter = "proxy_server=debug"): { text(): string } {
  let text = "";
  configureLogging({ filter, format: "human", write: (line) => text += line });
  return { text: () => text };
}

/** Poll `check` every 20 ms until it returns true (at most `timeoutMs`). */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Options of {@linkcode openTunnel}. */
export interface TunnelOptions {
  /** Authenticate with RFC 1929 as this user, password `"pw"` (else no auth). */
  user?: string;
  /** Send `BIND <bind>:0` before the CONNECT (KumoMTA's source selection). */
  bind?: string;
  /** Bound on waiting for the CONNECT reply, milliseconds. */
  readMs?: number;
}

/**
 * Greeting (no auth, or RFC 1929 with `options.user`), optional BIND, then
 * CONNECT to 127.0.0.1:`port` through the SOCKS5 proxy on `proxyPort`; when
 * the REP is 0, a "ping" round trip through the tunnel (the port must be an
 * echo target). Resolves with the REP and the client, still open: the
 * caller closes it.
 */
export async function openTunnel(
  proxyPort: number,
  port: number,
  options: TunnelOptions = {},
): Promise<{ rep: number; client: RawClient }> {
  const c = await rawConnect(proxyPort);
  try {
    if (options.user !== undefined) {
      c.send([5, 1, 2]);
      assert.deepEqual([...await c.read(2)], [5, 2]);
      const u = new TextEncoder().encode(options.user);
      c.send([1, u.length, ...u, 2, ...new TextEncoder().encode("pw")]);
      assert.deepEqual([...await c.read(2)], [1, 0]);
    } else {
      c.send([5, 1, 0]);
      assert.deepEqual([...await c.read(2)], [5, 0]);
    }
    if (options.bind !== undefined) {
      c.send(ipv4Request(2, options.bind, 0));
      assert.equal((await c.read(10))[1], 0);
    }
    c.send(ipv4Request(1, "127.0.0.1", port));
    const reply = await c.read(10, options.readMs);
    if (reply[1] === 0) {
      c.send(new TextEncoder().encode("ping"));
      assert.equal(new TextDecoder().decode(await c.read(4)), "ping");
    }
    return { rep: reply[1], client: c };
  } catch (error) {
    c.close();
    throw error;
  }
}

/** {@linkcode openTunnel}, then close it; resolves with the REP. */
export async function tunnel(proxyPort: number, port: number, options: TunnelOptions = {}): Promise<number> {
  const { rep, client } = await openTunnel(proxyPort, port, options);
  client.close();
  return rep;
}
