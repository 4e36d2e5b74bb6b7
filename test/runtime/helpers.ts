/**
 * Helpers for the runtime adapter tests: a loopback relay built from
 * `listen` + `connect` + a `pipeTo` pair (the shape of the proxy's data path),
 * and small read utilities. Everything here uses only the `Runtime` interface.
 *
 * @module
 */
import type { Conn, Listener, Runtime } from "../../src/runtime/index.ts";

/** A running relay: accepts on `port`, connects to the target, pipes both ways. */
export interface Relay {
  /** Port the relay listens on (127.0.0.1). */
  port: number;
  /** Settles when the first relayed connection's two pipes have settled. */
  done: Promise<{ up: number; down: number; errors: unknown[] }>;
  /** The relay's two conns of the first connection, once accepted/connected. */
  conns: Promise<{ inbound: Conn; outbound: Conn }>;
  /** Stop listening and close the relayed conns. */
  close(): Promise<void>;
}

/**
 * Start a one-connection relay on 127.0.0.1 towards `targetPort`, optionally
 * binding `localAddress` for the outbound side. `up` counts client->target
 * bytes reported by `onBytes`, `down` target->client.
 */
export async function startRelay(rt: Runtime, targetPort: number, localAddress?: string): Promise<Relay> {
  let opened: (c: { inbound: Conn; outbound: Conn }) => void = () => {};
  const conns = new Promise<{ inbound: Conn; outbound: Conn }>((r) => opened = r);
  let finish: (v: { up: number; down: number; errors: unknown[] }) => void = () => {};
  const done = new Promise<{ up: number; down: number; errors: unknown[] }>((r) => finish = r);
  const all: Conn[] = [];
  let listener: Listener | undefined = undefined;
  listener = await rt.listen({ host: "127.0.0.1", port: 0 }, async (inbound) => {
    all.push(inbound);
    const outbound = await rt.connect({ host: "127.0.0.1", port: targetPort, localAddress });
    all.push(outbound);
    opened({ inbound, outbound });
    const totals = { up: 0, down: 0, errors: [] as unknown[] };
    await Promise.all([
      inbound.pipeTo(outbound, (n) => totals.up += n).catch((e) => totals.errors.push(e)),
      outbound.pipeTo(inbound, (n) => totals.down += n).catch((e) => totals.errors.push(e)),
    ]);
    finish(totals);
  });
  const l = listener;
  return {
    port: l.addr.port,
    done,
    conns,
    async close() {
      await l.close();
      for (const c of all) c.close();
    },
  };
}

/** Read until FIN; returns all bytes joined. Bounded by `limit` bytes. */
export async function readAll(conn: Conn, limit = 64 << 20): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const d = await conn.read();
    if (d === null) break;
    parts.push(d);
    total += d.length;
    if (total > limit) throw new Error(`more than ${limit} bytes`);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Read exactly `n` bytes (rejects on early FIN). */
export async function readExactly(conn: Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const d = await conn.read();
    if (d === null) throw new Error(`FIN after ${off} of ${n} bytes`);
    if (off + d.length > n) throw new Error(`got ${off + d.length} bytes, wanted ${n}`);
    out.set(d, off);
    off += d.length;
  }
  return out;
}

/** A promise for the next connection a listener hands over. */
export function nextConn(): { onConn: (c: Conn) => void; conn: Promise<Conn> } {
  let give: (c: Conn) => void = () => {};
  const conn = new Promise<Conn>((r) => give = r);
  return { onConn: (c) => give(c), conn };
}

/** Reject after `ms` milliseconds with `what` (bounds a wait in a test). */
export function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** UTF-8 helpers. */
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** UTF-8 decode. */
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
