// The client handshake egress runs against upstream proxies (RFC 1928 s3-6,
// RFC 1929, KumoMTA's BIND <source-ip>:0 then CONNECT), against a scripted
// in-memory proxy.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CMD,
  REP,
  Socks5ClientError,
  socks5ClientHandshake,
  Socks5EofError,
  socks5Probe,
  Socks5ProtocolError,
} from "../../src/socks5/index.ts";
import { encodeRequest } from "../../src/socks5/codec.ts";
import { bytes, hex, ScriptedProxy } from "./helpers.ts";

const destination = { host: "mx.example.com", port: 25 };
const connectHex = "05 01 00 03 0e " + hex(bytes("mx.example.com")) + " 00 19";
const bindHex = "05 02 00 01 c0 00 02 37 00 00"; // BIND 192.0.2.55:0
const authHex = "01 04 " + hex(bytes("user")) + " 04 " + hex(bytes("pass"));
const success = (a: number, b: number, c: number, d: number, port: number) =>
  bytes(0x05, 0x00, 0x00, 0x01, a, b, c, d, port >> 8, port & 0xff);

/** Assert a Socks5ClientError of `stage` with `rep`. */
async function rejectsAt(
  promise: Promise<unknown>,
  stage: string,
  rep: number | undefined,
): Promise<Socks5ClientError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(
    caught instanceof Socks5ClientError,
    `not a Socks5ClientError: ${caught}`,
  );
  assert.equal(caught.stage, stage, caught.message);
  assert.equal(caught.rep, rep, caught.message);
  return caught;
}

test("client: no auth, CONNECT by name; waits for each reply; hands over early bytes", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    bytes(success(192, 0, 2, 10, 40000), "220 mx.example.com ESMTP\r\n"),
  ]);
  const result = await socks5ClientHandshake(proxy, { destination });
  assert.deepEqual(result.bndAddr, { host: "192.0.2.10", port: 40000 });
  assert.equal(
    new TextDecoder().decode(result.buffered),
    "220 mx.example.com ESMTP\r\n",
  );
  assert.deepEqual(proxy.log, ["W 05 01 00", "R", `W ${connectHex}`, "R"]);
});

test("client: auth + BIND + CONNECT in KumoMTA's order, replies split across chunks", async () => {
  const bindReply = success(192, 0, 2, 55, 50000);
  const connectReply = success(192, 0, 2, 55, 50000);
  const proxy = new ScriptedProxy([
    bytes(0x05),
    bytes(0x02),
    bytes(0x01, 0x00),
    bindReply.subarray(0, 3),
    bindReply.subarray(3),
    bytes(connectReply),
  ]);
  const result = await socks5ClientHandshake(proxy, {
    auth: { username: "user", password: "pass" },
    bindAddress: "192.0.2.55",
    destination,
  });
  assert.deepEqual(result.bndAddr, { host: "192.0.2.55", port: 50000 });
  assert.equal(result.buffered.length, 0);
  assert.deepEqual(proxy.log, [
    "W 05 02 00 02",
    "R",
    "R",
    `W ${authHex}`,
    "R",
    `W ${bindHex}`,
    "R",
    "R",
    `W ${connectHex}`,
    "R",
  ]);
});

test("client: credentials offered but proxy selects NO AUTHENTICATION: no RFC 1929 sent", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    success(10, 0, 0, 1, 1234),
  ]);
  await socks5ClientHandshake(proxy, {
    auth: { username: "user", password: "pass" },
    destination,
  });
  assert.equal(proxy.allWritten, `05 02 00 02 ${connectHex}`);
});

test("client: RFC 1929 STATUS failure -> stage auth, nothing more sent", async () => {
  const proxy = new ScriptedProxy([bytes(0x05, 0x02), bytes(0x01, 0x01)]);
  await rejectsAt(
    socks5ClientHandshake(proxy, {
      auth: { username: "user", password: "pass" },
      destination,
    }),
    "auth",
    undefined,
  );
  assert.equal(proxy.allWritten, `05 02 00 02 ${authHex}`);
});

test("client: proxy answers NO ACCEPTABLE METHODS (0xFF) -> stage greeting", async () => {
  const proxy = new ScriptedProxy([bytes(0x05, 0xff)]);
  const error = await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "greeting",
    undefined,
  );
  assert.match(error.message, /username\/password/);
  assert.equal(proxy.written.length, 1);
});

test("client: proxy selects a method that was not offered -> stage greeting", async () => {
  const proxy = new ScriptedProxy([bytes(0x05, 0x02)]);
  await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "greeting",
    undefined,
  );
});

test("client: proxy speaking another VER -> stage greeting", async () => {
  const proxy = new ScriptedProxy([bytes(0x04, 0x5a)]);
  await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "greeting",
    undefined,
  );
});

test("client: proxy closes before the method selection -> stage greeting, cause EOF", async () => {
  const proxy = new ScriptedProxy([null]);
  const error = await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "greeting",
    undefined,
  );
  assert.ok(error.cause instanceof Socks5EofError);
});

test("client: BIND error reply -> stage bind with its REP; no CONNECT sent", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    bytes(0x05, REP.GENERAL_FAILURE, 0x00, 0x01, 0, 0, 0, 0, 0, 0),
  ]);
  await rejectsAt(
    socks5ClientHandshake(proxy, { bindAddress: "192.0.2.55", destination }),
    "bind",
    REP.GENERAL_FAILURE,
  );
  assert.equal(proxy.allWritten, `05 01 00 ${bindHex}`);
});

test("client: CONNECT refused (REP 5) -> stage connect, rep 5", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    bytes(0x05, REP.CONNECTION_REFUSED, 0x00, 0x01, 0, 0, 0, 0, 0, 0),
  ]);
  const error = await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "connect",
    REP.CONNECTION_REFUSED,
  );
  assert.match(error.message, /connection refused/);
});

test("client: error reply cut short after VER REP still reports its REP", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    bytes(0x05, REP.HOST_UNREACHABLE),
    null,
  ]);
  await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "connect",
    REP.HOST_UNREACHABLE,
  );
});

test("client: error reply with an unknown ATYP still reports its REP", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    bytes(0x05, REP.TTL_EXPIRED, 0x00, 0x00, 0, 0),
  ]);
  await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "connect",
    REP.TTL_EXPIRED,
  );
});

test("client: success reply with an unknown ATYP is a malformed reply, no rep", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    bytes(0x05, REP.SUCCEEDED, 0x00, 0x07, 0, 0),
  ]);
  const error = await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "connect",
    undefined,
  );
  assert.ok(error.cause instanceof Socks5ProtocolError);
});

test("client: success reply cut short after VER REP is a proxy failure, no rep", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    bytes(0x05, REP.SUCCEEDED, 0x00),
    null,
  ]);
  const error = await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "connect",
    undefined,
  );
  assert.ok(error.cause instanceof Socks5EofError);
});

test("client: proxy closes after CONNECT without a reply -> stage connect, no rep", async () => {
  const proxy = new ScriptedProxy([bytes(0x05, 0x00), null]);
  const error = await rejectsAt(
    socks5ClientHandshake(proxy, { destination }),
    "connect",
    undefined,
  );
  assert.ok(error.cause instanceof Socks5EofError);
});

test("client: I/O error while reading the BIND reply -> stage bind, cause kept", async () => {
  const reset = Object.assign(new Error("connection reset"), {
    code: "ECONNRESET",
  });
  const proxy = new ScriptedProxy([bytes(0x05, 0x00), reset]);
  const error = await rejectsAt(
    socks5ClientHandshake(proxy, { bindAddress: "192.0.2.55", destination }),
    "bind",
    undefined,
  );
  assert.equal(error.cause, reset);
});

test("client: options the wire cannot carry throw RangeError before any byte is sent", async () => {
  for (
    const options of [
      { auth: { username: "", password: "p" }, destination },
      { destination: { host: "mx.example.com", port: 70000 } },
      {
        bindAddress: "192.0.2.55",
        destination: { host: "x".repeat(300), port: 25 },
      },
    ]
  ) {
    const proxy = new ScriptedProxy([]);
    await assert.rejects(socks5ClientHandshake(proxy, options), RangeError);
    assert.deepEqual(proxy.log, []);
  }
});

test("client: aborting the signal rejects the pending step with the reason as cause", async () => {
  const controller = new AbortController();
  const reason = new Error("handshake timeout");
  const proxy = new ScriptedProxy([bytes(0x05, 0x00), "hang"]);
  let reads = 0;
  proxy.onRead = () => {
    if (++reads === 2) controller.abort(reason);
  };
  const error = await rejectsAt(
    socks5ClientHandshake(proxy, { destination, signal: controller.signal }),
    "connect",
    undefined,
  );
  assert.equal(error.cause, reason);
});

test("client: an already aborted signal fails at the greeting without writing", async () => {
  const proxy = new ScriptedProxy([]);
  await rejectsAt(
    socks5ClientHandshake(proxy, { destination, signal: AbortSignal.abort() }),
    "greeting",
    undefined,
  );
  assert.deepEqual(proxy.log, []);
});

test("probe: greeting, auth and BIND only, never CONNECT", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x02),
    bytes(0x01, 0x00),
    success(192, 0, 2, 55, 50001),
  ]);
  const result = await socks5Probe(proxy, {
    auth: { username: "user", password: "pass" },
    bindAddress: "192.0.2.55",
  });
  assert.deepEqual(result, {
    method: 0x02,
    bindBndAddr: { host: "192.0.2.55", port: 50001 },
  });
  assert.equal(proxy.allWritten, `05 02 00 02 ${authHex} ${bindHex}`);
  assert.ok(
    !proxy.allWritten.includes(hex(encodeRequest(CMD.CONNECT, destination))),
  );
});

test("probe: without options it is the greeting alone", async () => {
  const proxy = new ScriptedProxy([bytes(0x05, 0x00)]);
  assert.deepEqual(await socks5Probe(proxy), { method: 0x00 });
  assert.deepEqual(proxy.log, ["W 05 01 00", "R"]);
});

test("probe: BIND refused -> stage bind with REP", async () => {
  const proxy = new ScriptedProxy([
    bytes(0x05, 0x00),
    bytes(0x05, REP.CONNECTION_NOT_ALLOWED, 0x00, 0x01, 0, 0, 0, 0, 0, 0),
  ]);
  await rejectsAt(
    socks5Probe(proxy, { bindAddress: "192.0.2.55" }),
    "bind",
    REP.CONNECTION_NOT_ALLOWED,
  );
});
