// Runtime adapter: pipeTo relays (the proxy's data path) over real loopback
// sockets: half-close in both orders, byte counts, queued bytes, errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { type Conn, getRuntime, NetError } from "../../src/runtime/index.ts";
import { PULL_HIGH_WATER } from "../../src/runtime/pull-queue.ts";
import { deadline, dec, enc, nextConn, readAll, readExactly, startRelay } from "./helpers.ts";

const rt = getRuntime();

/** Recv-Q and Send-Q of the TCP socket `local` -> `peer` (ports) in any connected state, from ss. */
function queues(local: number, peer: number): { recv: number; send: number } {
  const text = execFileSync("ss", ["-tnH", `( sport = :${local} and dport = :${peer} )`], { encoding: "utf8" });
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  assert.equal(lines.length, 1, `one socket ${local} -> ${peer}: ${text}`);
  const [, recv, send] = lines[0].trim().split(/\s+/);
  return { recv: Number(recv), send: Number(send) };
}

/**
 * Wait (bounded, 5 s) until the `total` bytes `client` sent have reached the
 * receiving end `inbound` without being read by the test: on Bun, until its
 * pull-mode queue has taken at least the high-water mark (the socket is
 * then paused, a stable state), i.e. the kernel holds at most
 * `total - PULL_HIGH_WATER` of them; on Deno, which reads only on demand,
 * until the kernel's receive queue holds some. So the pipe that starts next
 * always finds bytes waiting, instead of racing their arrival.
 */
async function bufferedAtRelay(client: Conn, inbound: Conn, total: number): Promise<void> {
  const inKernel = () => {
    const up = queues(client.localAddr.port, client.remoteAddr.port);
    const down = queues(inbound.localAddr.port, inbound.remoteAddr.port);
    return { total: up.send + up.recv + down.recv, atRelay: down.recv };
  };
  const ready = () => {
    const k = inKernel();
    return rt.name === "bun" ? total - k.total >= PULL_HIGH_WATER : k.atRelay > 0;
  };
  for (let i = 0; i < 500 && !ready(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ready(), `bytes waiting at the relay: ${JSON.stringify(inKernel())} of ${total} in the kernel`);
}

/** A deterministic byte pattern of `n` bytes. */
function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/**
 * Client FIN crosses the relay first; the target then answers (after the FIN)
 * and half-closes; both pipes resolve and onBytes totals match.
 */
async function halfCloseThroughRelay(localAddress?: string): Promise<void> {
  const { onConn, conn } = nextConn();
  const target = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const relay = await startRelay(rt, target.addr.port, localAddress);
  const client = await rt.connect({ host: "127.0.0.1", port: relay.port });
  let server: Conn | undefined;
  try {
    server = await deadline(conn, 5000, "target accept");
    const request = pattern(300_000, 1);
    await client.write(request);
    await client.closeWrite();
    const got = await deadline(readAll(server), 10000, "target reads to FIN");
    assert.equal(got.length, request.length, "client FIN reached the target after all bytes");
    assert.deepEqual(got, request);
    const reply = pattern(2_000_000, 7);
    const writing = (async () => {
      await server.write(reply);
      await server.closeWrite();
    })();
    const back = await deadline(readAll(client), 10000, "client reads reply to FIN");
    await writing;
    assert.deepEqual(back, reply, "target->client still flows after the client's FIN");
    const totals = await deadline(relay.done, 5000, "both pipes settle");
    assert.deepEqual(totals.errors, []);
    assert.equal(totals.up, request.length, "onBytes total client->target");
    assert.equal(totals.down, reply.length, "onBytes total target->client");
    if (localAddress) {
      const { outbound } = await relay.conns;
      assert.equal(outbound.localAddr.host, localAddress);
      assert.equal(server.remoteAddr.host, localAddress);
    }
  } finally {
    client.close();
    server?.close();
    await relay.close();
    await target.close();
  }
}

test("pipeTo pair: client FIN reaches the target, target->client keeps flowing, onBytes totals match", async () => {
  await halfCloseThroughRelay();
});

test("pipeTo pair with an outbound localAddress (127.0.0.2): half-close and totals", async () => {
  await halfCloseThroughRelay("127.0.0.2");
});

test("pipeTo pair: target FIN first, client->target keeps flowing", async () => {
  const { onConn, conn } = nextConn();
  const target = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const relay = await startRelay(rt, target.addr.port);
  const client = await rt.connect({ host: "127.0.0.1", port: relay.port });
  let server: Conn | undefined;
  try {
    server = await deadline(conn, 5000, "target accept");
    await server.write(enc("banner"));
    await server.closeWrite();
    assert.equal(dec(await deadline(readAll(client), 5000, "client reads to FIN")), "banner");
    const late = pattern(500_000, 3);
    await client.write(late);
    await client.closeWrite();
    assert.deepEqual(await deadline(readAll(server), 10000, "target reads to FIN"), late);
    const totals = await deadline(relay.done, 5000, "both pipes settle");
    assert.deepEqual(totals.errors, []);
    assert.deepEqual([totals.up, totals.down], [late.length, 6]);
  } finally {
    client.close();
    server?.close();
    await relay.close();
    await target.close();
  }
});

test("pipeTo forwards bytes that arrived before it started (queued after a read()) in order", async () => {
  const { onConn: onTarget, conn: targetConn } = nextConn();
  const target = await rt.listen({ host: "127.0.0.1", port: 0 }, onTarget);
  const { onConn, conn } = nextConn();
  const front = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const client = await rt.connect({ host: "127.0.0.1", port: front.addr.port });
  const conns: Conn[] = [client];
  try {
    const inbound = await deadline(conn, 5000, "front accept");
    conns.push(inbound);
    await client.write(enc("HELLO"));
    assert.equal(dec(await readExactly(inbound, 5)), "HELLO", "handshake read in pull mode");
    const body = pattern(200_000, 9);
    await client.write(body); // lands in the pull-mode queue / kernel before pipeTo starts
    await client.closeWrite();
    await bufferedAtRelay(client, inbound, body.length);
    const outbound = await rt.connect({ host: "127.0.0.1", port: target.addr.port });
    conns.push(outbound);
    const server = await deadline(targetConn, 5000, "target accept");
    conns.push(server);
    let n = 0;
    await deadline(inbound.pipeTo(outbound, (k) => n += k), 5000, "pipe to FIN");
    assert.equal(n, body.length);
    assert.deepEqual(await deadline(readAll(server), 5000, "target reads"), body);
  } finally {
    for (const c of conns) c.close();
    await front.close();
    await target.close();
  }
});

test("pipeTo rejects with a NetError (ECONNRESET/EPIPE) when the destination's peer has gone", async () => {
  const { onConn, conn } = nextConn();
  const target = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const relay = await startRelay(rt, target.addr.port);
  const client = await rt.connect({ host: "127.0.0.1", port: relay.port });
  try {
    const server = await deadline(conn, 5000, "target accept");
    await client.write(enc("x"));
    assert.equal(dec(await readExactly(server, 1)), "x");
    server.close(); // full close: the relay's next writes to it fail (RST)
    // Keep sending until the relay notices the broken destination (bounded).
    const chunk = new Uint8Array(64 * 1024);
    const settled = relay.done.then(() => true);
    for (let i = 0; i < 200; i++) {
      const done = await Promise.race([settled, new Promise<false>((r) => setTimeout(() => r(false), 10))]);
      if (done) break;
      try {
        await deadline(client.write(chunk), 1000, "write");
      } catch {
        break;
      }
    }
    const totals = await deadline(relay.done, 5000, "pipes settle after the relay closes");
    assert.ok(totals.errors.length >= 1, "at least one direction reports the failure");
    for (const e of totals.errors) {
      assert.ok(e instanceof NetError, `error is a NetError: ${e}`);
      assert.ok(["ECONNRESET", "EPIPE"].includes(e.code), `code ${e.code}`);
    }
  } finally {
    client.close();
    await relay.close();
    await target.close();
  }
});

test("closing both ends of an idle relay settles both pipeTo calls (idle-timeout path)", async () => {
  const { onConn, conn } = nextConn();
  const target = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const relay = await startRelay(rt, target.addr.port, "127.0.0.1");
  const client = await rt.connect({ host: "127.0.0.1", port: relay.port });
  let server: Conn | undefined;
  try {
    server = await deadline(conn, 5000, "target accept");
    await client.write(enc("hi"));
    assert.equal(dec(await readExactly(server, 2)), "hi");
    const { inbound, outbound } = await relay.conns;
    inbound.close();
    outbound.close();
    const totals = await deadline(relay.done, 5000, "pipes settle after close()");
    assert.equal(totals.up, 2);
    assert.equal(await deadline(client.read(), 5000, "client sees the relay close"), null);
  } finally {
    client.close();
    server?.close();
    await relay.close();
    await target.close();
  }
});
