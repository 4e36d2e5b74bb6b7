// Runtime adapter: a pipeTo relay honours backpressure. While the final
// reader does not read, the writer cannot finish and memory stays bounded;
// when the reader resumes, every byte arrives intact and onBytes agrees.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { type Conn, getRuntime } from "../../src/runtime/index.ts";
import { deadline, nextConn, startRelay } from "./helpers.ts";

const rt = getRuntime();

/** The byte stream is i mod PERIOD; chunks are a whole number of periods. */
const PERIOD = 251;
const CHUNK = PERIOD * 4096; // ~1 MiB
const COUNT = 262;
const TOTAL = CHUNK * COUNT; // 269,361,152 bytes, just over 256 MiB
/** Allowed RSS growth of this process (writer + relay + reader), bytes. */
const RSS_BUDGET = 64 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function backpressure(localAddress?: string): Promise<void> {
  const chunk = new Uint8Array(CHUNK);
  for (let i = 0; i < CHUNK; i++) chunk[i] = i % PERIOD;
  const { onConn, conn } = nextConn();
  const target = await rt.listen({ host: "127.0.0.1", port: 0 }, onConn);
  const relay = await startRelay(rt, target.addr.port, localAddress);
  const client = await rt.connect({ host: "127.0.0.1", port: relay.port });
  let server: Conn | undefined;
  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 20);
  let written = 0;
  let writeError: unknown = undefined;
  const writer = (async () => {
    for (let i = 0; i < COUNT; i++) {
      await client.write(chunk);
      written += CHUNK;
    }
    await client.closeWrite();
  })().catch((e) => writeError = e);
  try {
    server = await deadline(conn, 5000, "target accept");
    // Phase 1: the target does not read. Wait (bounded) until the writer stalls.
    let last = -1;
    let still = 0;
    for (let t = 0; t < 160 && still < 8; t++) {
      await sleep(50);
      if (written === last) still++;
      else still = 0;
      last = written;
    }
    assert.equal(writeError, undefined);
    assert.ok(written < TOTAL, `writer is throttled: pushed ${written} of ${TOTAL} bytes while nobody reads`);
    assert.ok(still >= 8, "writer made no progress for 400 ms while the target did not read");
    // Phase 2: the target reads everything; check order and count.
    let received = 0;
    let k = 0;
    let bad = -1;
    const reading = (async () => {
      for (;;) {
        const d = await server.read();
        if (d === null) break;
        for (let i = 0; i < d.length; i++) {
          if (d[i] !== k && bad < 0) bad = received + i;
          if (++k === PERIOD) k = 0;
        }
        received += d.length;
      }
      await server.closeWrite(); // lets the relay's other direction finish too
    })();
    await deadline(Promise.all([reading, writer]), 15000, "transfer after the reader resumed");
    assert.equal(writeError, undefined);
    assert.equal(bad, -1, `byte ${bad} is out of order or corrupt`);
    assert.equal(received, TOTAL, "every byte arrived");
    const totals = await deadline(relay.done, 5000, "pipes settle");
    assert.equal(totals.up, TOTAL, "onBytes total equals bytes sent");
    const growth = rssMax - rss0;
    assert.ok(
      growth < RSS_BUDGET,
      `RSS grew ${(growth / 1048576).toFixed(1)} MiB (budget 64 MiB) while ${TOTAL} bytes were relayed`,
    );
  } finally {
    clearInterval(sampler);
    client.close();
    server?.close();
    await relay.close();
    await target.close();
    await writer;
  }
}

test(
  "backpressure: a stalled reader throttles a 256 MiB writer through a pipeTo relay, memory stays bounded, all bytes arrive",
  {
    timeout: 30000,
  },
  async () => {
    await backpressure();
  },
);

test(
  "backpressure with an outbound localAddress (127.0.0.2): throttled, bounded, intact",
  { timeout: 30000 },
  async () => {
    await backpressure("127.0.0.2");
  },
);
