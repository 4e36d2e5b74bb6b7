// ByteReader: whole messages out of arbitrary chunking, FIN handling,
// surplus hand-over and the bound on buffered bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ByteReader,
  decodeGreeting,
  decodeRequest,
  decodeUsernamePasswordRequest,
  Socks5EofError,
  Socks5ProtocolError,
} from "../../src/socks5/index.ts";
import { DEFAULT_MAX_BUFFERED } from "../../src/socks5/reader.ts";
import { bytes, ChunkConn, hex } from "./helpers.ts";

const greeting = bytes(0x05, 0x02, 0x00, 0x02);
const request = bytes(0x05, 0x01, 0x00, 0x03, 11, "example.com", 0x00, 0x19);

test("ByteReader: a message split into 1-byte chunks is reassembled", async () => {
  const conn = new ChunkConn(Array.from(request, (b) => Uint8Array.of(b)));
  const reader = new ByteReader(conn);
  assert.deepEqual(await reader.next(decodeRequest), {
    cmd: 1,
    atyp: 3,
    dstAddr: { host: "example.com", port: 25 },
  });
  assert.equal(conn.reads, request.length);
  assert.equal(reader.takeBuffered().length, 0);
});

test("ByteReader: a chunk boundary inside the second message", async () => {
  const stream = bytes(greeting, request);
  const conn = new ChunkConn([stream.subarray(0, 7), stream.subarray(7)]);
  const reader = new ByteReader(conn);
  assert.deepEqual(await reader.next(decodeGreeting), {
    methods: [0x00, 0x02],
  });
  assert.deepEqual((await reader.next(decodeRequest)).dstAddr, {
    host: "example.com",
    port: 25,
  });
  assert.equal(conn.reads, 2);
});

test("ByteReader: two messages in one chunk need one read only", async () => {
  const conn = new ChunkConn([bytes(greeting, request)]);
  const reader = new ByteReader(conn);
  await reader.next(decodeGreeting);
  await reader.next(decodeRequest);
  assert.equal(conn.reads, 1);
});

test("ByteReader: pipelined payload after the request is handed over by takeBuffered", async () => {
  const conn = new ChunkConn([
    bytes(greeting, request, "EHLO client.example\r\n"),
  ]);
  const reader = new ByteReader(conn);
  await reader.next(decodeGreeting);
  await reader.next(decodeRequest);
  assert.equal(reader.bufferedLength, 21);
  assert.equal(
    new TextDecoder().decode(reader.takeBuffered()),
    "EHLO client.example\r\n",
  );
  assert.equal(reader.takeBuffered().length, 0);
  assert.equal(reader.bufferedLength, 0);
});

test("ByteReader: surplus survives the runtime reusing its chunk memory", async () => {
  const chunk = bytes(greeting, "DATA");
  const conn = new ChunkConn([chunk]);
  const reader = new ByteReader(conn);
  await reader.next(decodeGreeting);
  chunk.fill(0); // a runtime may recycle the buffer for its next read
  assert.equal(hex(reader.takeBuffered()), hex(bytes("DATA")));
});

test("ByteReader: FIN before any byte rejects with Socks5EofError, nothing received", async () => {
  const reader = new ByteReader(new ChunkConn([]));
  await assert.rejects(reader.next(decodeGreeting), (error: unknown) => {
    assert.ok(error instanceof Socks5EofError);
    assert.equal(error.received.length, 0);
    return true;
  });
});

test("ByteReader: FIN in the middle of a message rejects with the partial bytes", async () => {
  const reader = new ByteReader(
    new ChunkConn([request.subarray(0, 5), request.subarray(5, 9)]),
  );
  await assert.rejects(reader.next(decodeRequest), (error: unknown) => {
    assert.ok(error instanceof Socks5EofError);
    assert.equal(hex(error.received), hex(request.subarray(0, 9)));
    return true;
  });
});

test("ByteReader: decoder errors propagate (VER 4 greeting)", async () => {
  const reader = new ByteReader(new ChunkConn([bytes(0x04, 0x01, 0x00, 0x50)]));
  await assert.rejects(reader.next(decodeGreeting), Socks5ProtocolError);
});

test("ByteReader: read() errors propagate unchanged", async () => {
  const failure = Object.assign(new Error("reset by peer"), {
    code: "ECONNRESET",
  });
  const reader = new ByteReader(new ChunkConn([bytes(0x05), failure]));
  await assert.rejects(
    reader.next(decodeGreeting),
    (error: unknown) => error === failure,
  );
});

test("ByteReader: the largest legal message (RFC 1929, 513 bytes) fits the default limit", async () => {
  const auth = bytes(0x01, 255, "u".repeat(255), 255, "p".repeat(255));
  const chunks = [
    auth.subarray(0, 100),
    auth.subarray(100, 400),
    auth.subarray(400),
  ];
  const reader = new ByteReader(new ChunkConn(chunks));
  const value = await reader.next(decodeUsernamePasswordRequest);
  assert.equal(value.username.length, 255);
  assert.ok(DEFAULT_MAX_BUFFERED >= 513);
});

test("ByteReader: 1 MiB of garbage is refused after about maxBuffered bytes", async () => {
  const chunks = Array.from(
    { length: 1024 },
    () => new Uint8Array(1024).fill(0x41),
  );
  const conn = new ChunkConn(chunks);
  const reader = new ByteReader(conn);
  const neverComplete = () => null; // a decoder still waiting for more
  await assert.rejects(reader.next(neverComplete), Socks5ProtocolError);
  assert.ok(conn.reads <= 2, `read ${conn.reads} KiB before giving up`);
  assert.ok(reader.bufferedLength <= DEFAULT_MAX_BUFFERED + 1024);
});

test("ByteReader: maxBuffered option lowers the limit", async () => {
  const conn = new ChunkConn(
    Array.from({ length: 100 }, () => new Uint8Array(10)),
  );
  const reader = new ByteReader(conn, { maxBuffered: 50 });
  await assert.rejects(reader.next(() => null), Socks5ProtocolError);
  assert.equal(conn.reads, 6);
});

test("ByteReader: a concurrent next() is refused", async () => {
  const reader = new ByteReader(new ChunkConn([greeting, greeting]));
  const first = reader.next(decodeGreeting);
  await assert.rejects(reader.next(decodeGreeting), /concurrently/);
  assert.deepEqual(await first, { methods: [0x00, 0x02] });
});
