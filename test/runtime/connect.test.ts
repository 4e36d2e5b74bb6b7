// Runtime adapter: listen, connect, read/write, half-close, source address
// and error normalisation, over real loopback sockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getRuntime, NetError } from "../../src/runtime/index.ts";
import { kernelKeepAlive, kernelKeepAliveTime } from "../helpers/ss.ts";
import { deadline, dec, enc, nextConn, readAll, readExactly } from "./helpers.ts";
import { socketOptions } from "./sockopt.ts";

const rt = getRuntime();

/** Assert `p` rejects with a NetError whose code is one of `codes`. */
async function rejectsWith(p: Promise<unknown>, codes: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof NetError, `expected NetError, got ${e}`);
    assert.ok(codes.includes(e.code), `code ${e.code} not in ${codes.join(", ")}`);
    return true;
  });
}

test("runtime: getRuntime() matches the host runtime and reports its version", () => {
  const host = "Deno" in globalThis ? "deno" : "bun";
  assert.equal(rt.name, host);
  assert.match(rt.version, /^\d+\.\d+\.\d+/);
  assert.ok(Array.isArray(rt.args));
  assert.equal(getRuntime(), rt, "detected once and cached");
});

test("listen on port 0 reports the real port; bytes flow both ways on IPv4", async () => {
  const { onConn, conn } = nextConn();
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  assert.equal(l.addr.host, "127.0.0.1");
  assert.ok(l.addr.port > 0 && l.addr.port < 65536);
  const c = await rt.connect({ host: "127.0.0.1", port: l.addr.port });
  const s = await deadline(conn, 5000, "accept");
  try {
    assert.equal(c.remoteAddr.port, l.addr.port);
    assert.equal(s.remoteAddr.port, c.localAddr.port, "server sees the client's port");
    await c.write(enc("ping"));
    assert.equal(dec(await readExactly(s, 4)), "ping");
    await s.write(enc("pong!"));
    assert.equal(dec(await readExactly(c, 5)), "pong!");
  } finally {
    c.close();
    s.close();
    await l.close();
  }
});

test("IPv6 loopback: listen and connect on ::1", async () => {
  const { onConn, conn } = nextConn();
  const l = await rt.listen({ host: "::1", port: 0 }, onConn);
  const c = await rt.connect({ host: "::1", port: l.addr.port });
  const s = await deadline(conn, 5000, "accept");
  try {
    assert.equal(s.remoteAddr.host, "::1");
    assert.equal(c.remoteAddr.host, "::1");
    await c.write(enc("six"));
    assert.equal(dec(await readExactly(s, 3)), "six");
  } finally {
    c.close();
    s.close();
    await l.close();
  }
});

test("read() returns null after the peer's closeWrite, and the other direction still works", async () => {
  const { onConn, conn } = nextConn();
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const c = await rt.connect({ host: "127.0.0.1", port: l.addr.port });
  const s = await deadline(conn, 5000, "accept");
  try {
    await c.write(enc("last words"));
    await c.closeWrite();
    assert.equal(dec(await deadline(readAll(s), 5000, "server read to FIN")), "last words");
    assert.equal(await s.read(), null, "read() stays null after FIN");
    await s.write(enc("reply after FIN"));
    await s.closeWrite();
    assert.equal(dec(await deadline(readAll(c), 5000, "client read to FIN")), "reply after FIN");
  } finally {
    c.close();
    s.close();
    await l.close();
  }
});

test("listen on a port already in use rejects EADDRINUSE", async () => {
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, (c) => c.close());
  try {
    await rejectsWith(rt.listen({ host: "127.0.0.1", port: l.addr.port }, (c) => c.close()), ["EADDRINUSE"]);
  } finally {
    await l.close();
  }
});

test("connect with localAddress 127.0.0.2: the server sees the connection from 127.0.0.2", async () => {
  const { onConn, conn } = nextConn();
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const c = await rt.connect({ host: "127.0.0.1", port: l.addr.port, localAddress: "127.0.0.2" });
  const s = await deadline(conn, 5000, "accept");
  try {
    assert.equal(s.remoteAddr.host, "127.0.0.2");
    assert.equal(c.localAddr.host, "127.0.0.2");
    assert.equal(s.remoteAddr.port, c.localAddr.port);
    await c.write(enc("from .2"));
    assert.equal(dec(await readExactly(s, 7)), "from .2");
    await s.write(enc("to .2"));
    assert.equal(dec(await readExactly(c, 5)), "to .2");
  } finally {
    c.close();
    s.close();
    await l.close();
  }
});

test("connect with a localAddress the host lacks (192.0.2.1) rejects EADDRNOTAVAIL or EINVAL", async () => {
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, (c) => c.close());
  try {
    await rejectsWith(
      rt.connect({ host: "127.0.0.1", port: l.addr.port, localAddress: "192.0.2.1" }),
      ["EADDRNOTAVAIL", "EINVAL"],
    );
  } finally {
    await l.close();
  }
});

test("connect with a localAddress that is not an IP literal rejects EINVAL", async () => {
  await rejectsWith(rt.connect({ host: "127.0.0.1", port: 9, localAddress: "not-an-ip" }), ["EINVAL"]);
});

test("connect to a closed port rejects ECONNREFUSED (with and without localAddress)", async () => {
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, (c) => c.close());
  const port = l.addr.port;
  await l.close();
  await rejectsWith(rt.connect({ host: "127.0.0.1", port }), ["ECONNREFUSED"]);
  await rejectsWith(rt.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.1" }), ["ECONNREFUSED"]);
});

test("connect to a name that does not resolve (nonexistent.invalid) rejects ENOTFOUND", async () => {
  await rejectsWith(deadline(rt.connect({ host: "nonexistent.invalid", port: 80 }), 15000, "lookup"), [
    "ENOTFOUND",
  ]);
});

test("connect with an aborted signal rejects ETIMEDOUT for a timeout reason, ECANCELED otherwise", async () => {
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, (c) => c.close());
  try {
    const timedOut = AbortSignal.abort(new DOMException("connect timeout", "TimeoutError"));
    await rejectsWith(rt.connect({ host: "127.0.0.1", port: l.addr.port, signal: timedOut }), ["ETIMEDOUT"]);
    await rejectsWith(
      rt.connect({ host: "127.0.0.1", port: l.addr.port, localAddress: "127.0.0.1", signal: timedOut }),
      ["ETIMEDOUT"],
    );
    await rejectsWith(rt.connect({ host: "127.0.0.1", port: l.addr.port, signal: AbortSignal.abort() }), [
      "ECANCELED",
    ]);
  } finally {
    await l.close();
  }
});

/**
 * Whether `setKeepAlive({ time })` sets TCP_KEEPIDLE on this kind of
 * connection, per the runtime's declared limits: Deno's own sockets
 * (accepted ones, and outbound ones without a source address) cannot.
 */
function setsKeepIdle(kind: "accepted" | "outbound" | "outbound from a source address"): boolean {
  return rt.name === "bun" || kind === "outbound from a source address";
}

/**
 * The keep-alive probe interval (seconds) and count a runtime's sockets end
 * up with, and the words its `keepAliveSupport` uses for them: Bun's
 * `setKeepAlive` sets TCP_KEEPINTVL 1 and TCP_KEEPCNT 10 itself (as libuv
 * does); on Deno the kernel's sysctls stay.
 */
function keepAliveProbes(): { interval: number; count: number; source: string; declared: string } {
  if (rt.name === "bun") return { interval: 1, count: 10, source: "set by Bun", declared: "Bun sets" };
  return {
    interval: kernelKeepAlive("intvl"),
    count: kernelKeepAlive("probes"),
    source: "the kernel's",
    declared: "net.ipv4.tcp_keepalive_intvl applies",
  };
}

test("socket options set on both ends read back with getsockopt, or are a declared limit", async () => {
  const { onConn, conn } = nextConn();
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const bound = await rt.connect({ host: "127.0.0.1", port: l.addr.port, localAddress: "127.0.0.1" });
  const accepted = await deadline(conn, 5000, "accept");
  const second = nextConn();
  const l2 = await rt.listen({ host: "127.0.0.1", port: 0 }, second.onConn);
  const plain = await rt.connect({ host: "127.0.0.1", port: l2.addr.port });
  const accepted2 = await deadline(second.conn, 5000, "accept");
  const defaultIdle = kernelKeepAliveTime();
  try {
    const cases = [
      { what: "outbound from a source address", conn: bound },
      { what: "accepted", conn: accepted },
      { what: "outbound", conn: plain },
    ] as const;
    for (const { what, conn: x } of cases) {
      const read = await socketOptions(x.localAddr.port, x.remoteAddr.port);
      x.setNoDelay(false);
      assert.equal(read().noDelay, 0, `${what}: TCP_NODELAY off`);
      x.setNoDelay(true);
      assert.equal(read().noDelay, 1, `${what}: TCP_NODELAY on`);
      x.setKeepAlive({ enabled: true, time: 30 });
      const on = read();
      assert.equal(on.keepAlive, 1, `${what}: SO_KEEPALIVE on`);
      if (setsKeepIdle(what)) {
        assert.equal(on.keepIdle, 30, `${what}: TCP_KEEPIDLE from time`);
      } else {
        assert.equal(on.keepIdle, defaultIdle, `${what}: the kernel's keep-alive time stays`);
        const why = rt.keepAliveSupport.tcp.time;
        assert.ok(
          why !== true && /keep-alive time cannot be set/.test(why) && why.includes(what.split(" ")[0]),
          `${what}: the limit is declared in keepAliveSupport.tcp.time`,
        );
      }
      // What decides when a dead peer is dropped after the idle time: Bun's
      // setKeepAlive writes its own probe interval and count on every
      // socket; Deno leaves the kernel's. Either way it is declared.
      const probes = keepAliveProbes();
      assert.equal(on.keepInterval, probes.interval, `${what}: TCP_KEEPINTVL ${probes.source}`);
      assert.equal(on.keepCount, probes.count, `${what}: TCP_KEEPCNT ${probes.source}`);
      const declared = `${rt.keepAliveSupport.tcp.interval} ${rt.keepAliveSupport.tcp.retries}`;
      assert.ok(declared.includes(probes.declared), `${what}: keepAliveSupport says ${probes.declared}: ${declared}`);
      x.setKeepAlive({ enabled: false });
      assert.equal(read().keepAlive, 0, `${what}: SO_KEEPALIVE off`);
    }
    await bound.write(enc("ok"));
    assert.equal(dec(await readExactly(accepted, 2)), "ok");
  } finally {
    for (const x of [bound, accepted, plain, accepted2]) x.close();
    await l.close();
    await l2.close();
  }
});

test("after close(), read() gives null and write() rejects EPIPE; close() is idempotent", async () => {
  const { onConn, conn } = nextConn();
  const l = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const c = await rt.connect({ host: "127.0.0.1", port: l.addr.port });
  const s = await deadline(conn, 5000, "accept");
  try {
    const pending = c.read();
    c.close();
    c.close();
    assert.equal(await deadline(pending, 5000, "pending read settles"), null);
    assert.equal(await c.read(), null);
    await rejectsWith(c.write(enc("x")), ["EPIPE"]);
    assert.equal(await deadline(s.read(), 5000, "peer sees FIN"), null);
  } finally {
    s.close();
    await l.close();
  }
});
