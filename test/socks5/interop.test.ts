// Interoperability: the `socks` npm client (an independent RFC 1928/1929
// implementation) handshakes over loopback TCP with a minimal server built
// from this codec and ByteReader; a node:net socket stands in for a `Conn`.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { SocksClient } from "socks";
import type { Conn } from "../../src/runtime/index.ts";
import {
  AUTH_STATUS,
  ByteReader,
  CMD,
  decodeGreeting,
  decodeRequest,
  decodeUsernamePasswordRequest,
  encodeMethodSelection,
  encodeReply,
  encodeUsernamePasswordReply,
  METHOD,
  REP,
} from "../../src/socks5/index.ts";
import type { Request } from "../../src/socks5/codec.ts";

/** `read`/`write` of a `Conn` over a node:net socket. */
function socketConn(socket: net.Socket): Pick<Conn, "read" | "write"> {
  const queue: (Uint8Array | null)[] = [];
  let waiting: ((chunk: Uint8Array | null) => void) | undefined;
  const push = (chunk: Uint8Array | null) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(chunk);
    } else queue.push(chunk);
  };
  socket.on("data", (data: Uint8Array) => push(new Uint8Array(data)));
  socket.on("end", () => push(null));
  socket.on("close", () => push(null));
  return {
    read: () =>
      queue.length > 0 ? Promise.resolve(queue.shift() ?? null) : new Promise((resolve) => (waiting = resolve)),
    write: (data) =>
      new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve()))),
  };
}

/**
 * Serve one SOCKS5 session negotiating as KumoMTA's proxy-server does
 * (USERNAME/PASSWORD preferred when offered: perform_auth in
 * crates/proxy-server/src/proxy_handler.rs), answer the CONNECT with
 * `connectRep`, then send a banner on success. Resolves with the request.
 */
function serveOnce(
  server: net.Server,
  credentials: { username: string; password: string },
  connectRep: number,
): Promise<Request> {
  return new Promise((resolve, reject) => {
    server.once("connection", (socket: net.Socket) => {
      socket.on("error", () => {});
      const conn = socketConn(socket);
      const reader = new ByteReader(conn);
      (async () => {
        const { methods } = await reader.next(decodeGreeting);
        assert.ok(methods.includes(METHOD.USERNAME_PASSWORD));
        await conn.write(encodeMethodSelection(METHOD.USERNAME_PASSWORD));
        const auth = await reader.next(decodeUsernamePasswordRequest);
        assert.deepEqual(auth, credentials);
        await conn.write(encodeUsernamePasswordReply(AUTH_STATUS.SUCCESS));
        const request = await reader.next(decodeRequest);
        await conn.write(
          encodeReply(connectRep, { host: "::ffff:127.0.0.1", port: 4242 }),
        );
        if (connectRep === REP.SUCCEEDED) {
          await conn.write(new TextEncoder().encode("220 hi\r\n"));
        }
        socket.end();
        return request;
      })().then(resolve, reject);
    });
  });
}

async function withServer(
  run: (server: net.Server, port: number) => Promise<void>,
) {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    await run(server, port);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Read from `socket` until it ends; bounded by the server ending it. */
function readAll(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    socket.on(
      "data",
      (data: Uint8Array) => (text += new TextDecoder().decode(data)),
    );
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

test("interop: `socks` client with RFC 1929 auth CONNECTs by domain name", async () => {
  await withServer(async (server, port) => {
    const credentials = { username: "kumo", password: "pässword" };
    const served = serveOnce(server, credentials, REP.SUCCEEDED);
    const { socket } = await SocksClient.createConnection({
      proxy: {
        host: "127.0.0.1",
        port,
        type: 5,
        userId: "kumo",
        password: "pässword",
      },
      command: "connect",
      destination: { host: "mx.example.com", port: 25 },
      timeout: 5000,
    });
    const banner = await readAll(socket);
    socket.destroy();
    assert.equal(banner, "220 hi\r\n");
    assert.deepEqual(await served, {
      cmd: CMD.CONNECT,
      atyp: 3,
      dstAddr: { host: "mx.example.com", port: 25 },
    });
  });
});

test("interop: `socks` client CONNECT to an IPv6 destination", async () => {
  await withServer(async (server, port) => {
    const served = serveOnce(
      server,
      { username: "u", password: "p" },
      REP.SUCCEEDED,
    );
    const { socket } = await SocksClient.createConnection({
      proxy: { host: "127.0.0.1", port, type: 5, userId: "u", password: "p" },
      command: "connect",
      destination: { host: "2001:db8::25", port: 2525 },
      timeout: 5000,
    });
    await readAll(socket);
    socket.destroy();
    assert.deepEqual((await served).dstAddr, {
      host: "2001:db8::25",
      port: 2525,
    });
  });
});

test("interop: `socks` client sees our REP 5 reply as connection refused", async () => {
  await withServer(async (server, port) => {
    const served = serveOnce(
      server,
      { username: "u", password: "p" },
      REP.CONNECTION_REFUSED,
    );
    await assert.rejects(
      SocksClient.createConnection({
        proxy: { host: "127.0.0.1", port, type: 5, userId: "u", password: "p" },
        command: "connect",
        destination: { host: "192.0.2.1", port: 25 },
        timeout: 5000,
      }),
      /ConnectionRefused/, // the `socks` package names REP 5 so
    );
    assert.deepEqual((await served).dstAddr, { host: "192.0.2.1", port: 25 });
  });
});
