// Runtime adapter: a TLS listener (ListenOptions.tls) serves a node:tls
// client, with half-close working through TLS; failed handshakes are
// reported apart and never reach onConn; outbound TLS (ConnectOptions.tls).
// The fixture is a self-signed P-256 certificate for localhost / 127.0.0.1,
// valid until 2125, test only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import tls from "node:tls";
import { type Conn, getRuntime, NetError } from "../../src/runtime/index.ts";
import { deadline, dec, enc, nextConn, readAll, readExactly } from "./helpers.ts";

const rt = getRuntime();

/** Wait (at most 5 s, polling every 20 ms) until `ready()` holds. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !ready(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(ready(), `timed out: ${what}`);
}
const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

test("TLS listener: handshake with the given PEM, bytes both ways, client FIN read as null, reply after FIN", async () => {
  const cert = await readFile(join(fixtures, "localhost-cert.pem"), "utf8");
  const key = await readFile(join(fixtures, "localhost-key.pem"), "utf8");
  const { onConn, conn } = nextConn();
  const l = await rt.listen({ host: "127.0.0.1", port: 0, tls: { cert, key } }, onConn);
  const client = tls.connect({ host: "127.0.0.1", port: l.addr.port, ca: cert, servername: "localhost" });
  const received: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    client.on("data", (d: Buffer) => received.push(d));
    client.on("end", () => resolve());
    client.on("error", reject);
  });
  try {
    await deadline(
      new Promise<void>((r, j) => client.once("secureConnect", () => r()).once("error", j)),
      5000,
      "handshake",
    );
    assert.equal(client.authorized, true, "certificate verified against the fixture CA");
    const s = await deadline(conn, 5000, "accept");
    try {
      client.write("hello over tls");
      assert.equal(dec(await deadline(readExactly(s, 14), 5000, "server read")), "hello over tls");
      client.end();
      assert.equal((await deadline(readAll(s), 5000, "server reads to FIN")).length, 0);
      await s.write(enc("reply after FIN"));
      await s.closeWrite();
      await deadline(ended, 5000, "client sees the reply and FIN");
      assert.equal(Buffer.concat(received).toString(), "reply after FIN");
    } finally {
      s.close();
    }
  } finally {
    client.destroy();
    await l.close();
  }
});

test("TLS listener: a plain-text client is reported as a handshake failure, never reaches onConn, and a TLS client still works", async () => {
  const cert = await readFile(join(fixtures, "localhost-cert.pem"), "utf8");
  const key = await readFile(join(fixtures, "localhost-key.pem"), "utf8");
  const accepted: Conn[] = [];
  const failures: { code: string; port: number }[] = [];
  let failed: () => void = () => {};
  const failure = new Promise<void>((r) => failed = r);
  const l = await rt.listen({
    host: "127.0.0.1",
    port: 0,
    tls: { cert, key },
    onTlsHandshakeError: (error, remote) => {
      failures.push({ code: error.code, port: remote.port });
      failed();
    },
  }, (c) => accepted.push(c));
  // A TLS client that is already through, to show the failure does not touch it.
  const first = tls.connect({ host: "127.0.0.1", port: l.addr.port, ca: cert, servername: "localhost" });
  const plain = net.connect({ host: "127.0.0.1", port: l.addr.port });
  const plainConnected = new Promise<void>((r) => plain.once("connect", () => r()));
  try {
    await deadline(
      new Promise<void>((r, j) => first.once("secureConnect", () => r()).once("error", j)),
      5000,
      "first TLS client",
    );
    await until(() => accepted.length === 1, "the first TLS client reaches onConn");
    await deadline(plainConnected, 5000, "plain connect");
    const plainPort = plain.localPort;
    plain.on("error", () => {});
    // A SOCKS5 greeting and a pipelined CONNECT, not a ClientHello. (A lone
    // 3-byte greeting is shorter than a TLS record header: Bun's TLS then
    // waits for more, and the handshake fails only at the time-out.)
    plain.write(Uint8Array.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80]));
    await deadline(failure, 5000, "handshake failure reported");
    assert.deepEqual(failures.map((f) => f.port), [plainPort]);
    assert.notEqual(failures[0].code, "");
    assert.equal(accepted.length, 1, "only the TLS client reached onConn");
    // The established TLS connection still carries bytes.
    first.write("still here");
    assert.equal(dec(await deadline(readExactly(accepted[0], 10), 5000, "read on the first client")), "still here");
    // And a new TLS client is accepted.
    const second = tls.connect({ host: "127.0.0.1", port: l.addr.port, ca: cert, servername: "localhost" });
    try {
      await deadline(
        new Promise<void>((r, j) => second.once("secureConnect", () => r()).once("error", j)),
        5000,
        "second TLS client",
      );
      assert.equal(second.authorized, true);
      second.write("second");
      await until(() => accepted.length === 2, "the second TLS client reaches onConn");
      assert.equal(dec(await deadline(readExactly(accepted[1], 6), 5000, "read on the second client")), "second");
    } finally {
      second.destroy();
    }
  } finally {
    plain.destroy();
    first.destroy();
    for (const c of accepted) c.close();
    await l.close();
  }
});

test("TLS listener: a client that never completes the handshake is reported with ETIMEDOUT after tlsHandshakeTimeout (and disconnected, on Bun)", async () => {
  const cert = await readFile(join(fixtures, "localhost-cert.pem"), "utf8");
  const key = await readFile(join(fixtures, "localhost-key.pem"), "utf8");
  const codes: string[] = [];
  let failed: () => void = () => {};
  const failure = new Promise<void>((r) => failed = r);
  const l = await rt.listen({
    host: "127.0.0.1",
    port: 0,
    tls: { cert, key },
    tlsHandshakeTimeout: 0.3,
    onTlsHandshakeError: (error) => {
      codes.push(error.code);
      failed();
    },
  }, (c) => c.close());
  const silent = net.connect({ host: "127.0.0.1", port: l.addr.port });
  silent.on("error", () => {});
  const closed = new Promise<void>((r) => silent.once("close", () => r()));
  try {
    await deadline(failure, 5000, "time-out reported");
    assert.deepEqual(codes, ["ETIMEDOUT"]);
    // Deno keeps the TCP socket of a TLS connection until its handshake ends
    // (denoland/deno#14547), so a silent client stays connected there until
    // it sends or leaves; Bun closes it at once.
    if (rt.name === "bun") await deadline(closed, 5000, "the silent client is disconnected");
  } finally {
    silent.destroy();
    await l.close();
  }
});

test("connect with tls: verifies against given CA certificates, refuses an unknown certificate, or skips verification when asked", async () => {
  const cert = await readFile(join(fixtures, "localhost-cert.pem"), "utf8");
  const key = await readFile(join(fixtures, "localhost-key.pem"), "utf8");
  const server = tls.createServer({ cert, key }, (s) => {
    s.on("error", () => {});
    s.end("hello over tls\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const verified = await rt.connect({ host: "127.0.0.1", port, tls: { caCerts: [cert], serverName: "localhost" } });
    assert.equal(dec(await deadline(readAll(verified), 5000, "verified read")), "hello over tls\n");
    verified.close();
    await assert.rejects(rt.connect({ host: "127.0.0.1", port, tls: { serverName: "localhost" } }), NetError);
    await assert.rejects(
      rt.connect({ host: "127.0.0.1", port, tls: { caCerts: [cert], serverName: "other.example" } }),
      NetError,
    );
    const unverified = await rt.connect({ host: "127.0.0.1", port, tls: { verify: false } });
    assert.equal(dec(await deadline(readAll(unverified), 5000, "unverified read")), "hello over tls\n");
    unverified.close();
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
