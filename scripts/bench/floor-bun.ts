/**
 * The Bun floor of the benchmark: the smallest correct CONNECT-only SOCKS5
 * relay on Bun's native socket API (`Bun.listen` / `Bun.connect`), with no
 * authentication, metrics, time-outs or logging. proxy-server's Bun figures
 * are shown as ratios to this row, so the table says what proxy-server's own
 * work costs on top of the runtime.
 *
 * What it does, per RFC 1928: greeting (answers method 0x00, or 0xFF when
 * the client does not offer it), one request (CONNECT with ATYP 1, 3 or 4;
 * other commands answer 0x07), connect, reply 0x00 with BND.ADDR (IPv4) or
 * 0x05/0x01 on failure, then a relay of both directions with backpressure
 * (`pause()` until the destination's `drain`) and half-close (a FIN is
 * forwarded with `shutdown()` once pending bytes are flushed).
 *
 * Usage: bun scripts/bench/floor-bun.ts PORT (listens on 127.0.0.1).
 *
 * @module
 */
import process from "node:process";
import { destinationHost } from "./floor-address.ts";

/** The part of a Bun socket the floor uses (bun-types' `Socket<T>`). */
interface Sock {
  data: Side;
  readonly localAddress: string;
  readonly localPort: number;
  write(d: Uint8Array): number;
  shutdown(): void;
  end(): void;
  pause(): void;
  resume(): void;
}

/** Socket event handlers (bun-types' `SocketHandler<T>`). */
interface Handlers {
  open?(s: Sock): void;
  data(s: Sock, d: Uint8Array): void;
  drain(s: Sock): void;
  end(s: Sock): void;
  close(s: Sock): void;
  error?(s: Sock, e: Error): void;
  connectError?(s: Sock, e: Error): void;
}

/** The `Bun` global as far as the floor uses it. */
interface BunApi {
  listen(o: { hostname: string; port: number; allowHalfOpen: boolean; socket: Handlers }): unknown;
  connect(o: { hostname: string; port: number; allowHalfOpen: boolean; data: Side; socket: Handlers }): Promise<Sock>;
}

/** One socket of a tunnel: the client's or the destination's. */
interface Side {
  /** The socket, once open. */
  sock: Sock | null;
  /** The other side of the tunnel (null before CONNECT succeeds). */
  peer: Side | null;
  /** Handshake bytes not yet parsed (client side before relaying), else null. */
  hs: Uint8Array | null;
  /** 0 greeting, 1 request, 2 connecting, 3 relaying. */
  stage: number;
  /** Bytes this side could not yet write (its socket is the destination of the peer's data). */
  pending: Uint8Array | null;
  /** The peer's FIN arrived; forward it once `pending` is flushed. */
  finPending: boolean;
  /** This socket closed. */
  closed: boolean;
}

const bun = (globalThis as unknown as { Bun: BunApi }).Bun;

const side = (sock: Sock | null): Side => ({
  sock,
  peer: null,
  hs: null,
  stage: 0,
  pending: null,
  finPending: false,
  closed: false,
});

function concat(a: Uint8Array | null, b: Uint8Array): Uint8Array {
  if (!a || a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Write `d` to side `to`, keeping what the kernel did not take and pausing `from`. */
function forward(from: Side, to: Side, d: Uint8Array): void {
  if (to.closed) return;
  if (to.pending) {
    to.pending = concat(to.pending, d);
    return;
  }
  const n = to.sock!.write(d);
  if (n < 0) return;
  if (n < d.length) {
    to.pending = d.subarray(n);
    from.sock!.pause();
  }
}

function fail(c: Side, rep: number): void {
  c.sock!.write(new Uint8Array([5, rep, 0, 1, 0, 0, 0, 0, 0, 0]));
  c.sock!.end();
}

/** Parse the handshake bytes in `c.hs`; returns when more bytes are needed. */
function handshake(c: Side): void {
  const b = c.hs!;
  if (c.stage === 0) {
    if (b.length < 2) return;
    const n = 2 + b[1];
    if (b.length < n) return;
    if (b[0] !== 5 || !b.subarray(2, n).includes(0)) {
      c.sock!.write(new Uint8Array([5, 0xff]));
      c.sock!.end();
      return;
    }
    c.sock!.write(new Uint8Array([5, 0]));
    c.hs = b.subarray(n);
    c.stage = 1;
  }
  if (c.stage !== 1) return;
  const r = c.hs!;
  if (r.length < 5) return;
  const atyp = r[3];
  const alen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + r[4] : -1;
  if (r[0] !== 5 || alen < 0) return fail(c, 8);
  const n = 4 + alen + 2;
  if (r.length < n) return;
  if (r[1] !== 1) return fail(c, 7);
  const a = r.subarray(4, 4 + alen);
  const host = destinationHost(atyp, a);
  const port = (r[n - 2] << 8) | r[n - 1];
  c.hs = r.subarray(n);
  c.stage = 2;
  const d = side(null);
  d.peer = c;
  d.stage = 2;
  d.hs = new Uint8Array(0);
  bun.connect({ hostname: host, port, allowHalfOpen: true, data: d, socket: outbound }).then((s) => {
    if (c.closed) return s.end();
    const reply = new Uint8Array([5, 0, 0, 1, 0, 0, 0, 0, s.localPort >> 8, s.localPort & 255]);
    const ip = s.localAddress.split(".").map(Number);
    if (ip.length === 4) reply.set(ip, 4);
    c.sock!.write(reply);
    c.peer = d;
    start(c, d);
    start(d, c);
  }, (e: { code?: string }) => {
    if (!c.closed) fail(c, e.code === "ECONNREFUSED" ? 5 : 1);
  });
}

/** Start relaying from `from` to `to`: bytes and a FIN that arrived while connecting go first. */
function start(from: Side, to: Side): void {
  from.stage = 3;
  const early = from.hs!;
  from.hs = null;
  if (early.length > 0) forward(from, to, early);
  if (from.finPending) {
    from.finPending = false;
    if (to.pending) to.finPending = true;
    else to.sock!.shutdown();
  }
}

/** Handlers of both sides once relaying; the client side handshakes first. */
const relay: Handlers = {
  data(s, d) {
    const me = s.data;
    if (me.stage < 2) {
      me.hs = concat(me.hs, d);
      return handshake(me);
    }
    if (me.stage === 2) {
      me.hs = concat(me.hs, d);
      return;
    }
    forward(me, me.peer!, d);
  },
  drain(s) {
    const me = s.data;
    const p = me.pending;
    if (p) {
      const n = s.write(p);
      if (n < 0) return;
      if (n < p.length) {
        me.pending = p.subarray(n);
        return;
      }
      me.pending = null;
    }
    if (me.finPending) {
      me.finPending = false;
      s.shutdown();
    }
    const from = me.peer;
    if (from && from.sock && !from.closed) from.sock.resume();
  },
  end(s) {
    const me = s.data;
    const to = me.peer;
    if (me.stage < 3 || !to) {
      if (me.stage === 2) me.finPending = true; // forwarded once connected
      else s.end();
      return;
    }
    if (to.closed) return;
    if (to.pending) to.finPending = true;
    else to.sock!.shutdown();
  },
  close(s) {
    const me = s.data;
    me.closed = true;
    const to = me.peer;
    if (to && to.sock && !to.closed) to.sock.end();
  },
  error() {
    // close follows
  },
};

const outbound: Handlers = {
  ...relay,
  open(s) {
    s.data.sock = s;
  },
  connectError() {
    // the connect promise rejects
  },
};

const port = Number(process.argv[2]);

bun.listen({
  hostname: "127.0.0.1",
  port,
  allowHalfOpen: true,
  socket: {
    ...relay,
    open(s) {
      s.data = side(s);
      s.data.hs = new Uint8Array(0);
    },
  },
});
