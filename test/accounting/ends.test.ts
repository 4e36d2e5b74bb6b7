// The ends a tunnel or a connection can have besides the six sessions:
// the client resets (client_reset), the destination resets (dest_reset),
// a plain-text client on a use_tls listener (end=error with a TLS detail),
// a server stopped with tunnels open (shutdown).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { startProxy } from "../helpers/proxy-process.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { type AccessLine, humanAccessLines, pollFor } from "./helpers.ts";

let echo: EchoTarget;
/** A destination that resets every connection once it has read "reset". */
let resetter: { server: Server; port: number };

before(async () => {
  echo = await startEchoTarget();
  const server = createServer((s: Socket) => {
    s.on("error", () => {});
    s.on("data", (d) => {
      if (d.toString().includes("reset")) s.resetAndDestroy();
      else s.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  resetter = { server, port: (server.address() as { port: number }).port };
});

after(async () => {
  await echo?.close();
  await new Promise<void>((r) => resetter.server.close(() => r()));
});

/** A no-auth tunnel to 127.0.0.1:`port` with one "ping" round trip; resolves with the client. */
async function tunnelTo(proxyPort: number, port: number) {
  const c = await rawConnect(proxyPort);
  c.send([5, 1, 0]);
  assert.deepEqual([...await c.read(2)], [5, 0]);
  c.send(ipv4Request(1, "127.0.0.1", port));
  assert.equal((await c.read(10))[1], 0);
  c.send(new TextEncoder().encode("ping"));
  assert.equal(new TextDecoder().decode(await c.read(4)), "ping");
  return c;
}

/** The one access line of the client on local `port`. */
async function lineOf(log: () => string, port: number): Promise<AccessLine> {
  const lines = await pollFor(
    () => humanAccessLines(log()).filter((l) => l.client === `127.0.0.1:${port}`),
    (l) => l.length > 0,
  );
  assert.equal(lines.length, 1, log());
  return lines[0];
}

test("a client that resets its tunnel ends client_reset; a destination that resets ends dest_reset", async () => {
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  try {
    const c = await tunnelTo(proxy.ports[0], echo.port);
    const clientPort = c.socket.localPort!;
    c.socket.resetAndDestroy();
    const byClient = await lineOf(proxy.log, clientPort);
    assert.equal(byClient.end, "client_reset", JSON.stringify(byClient));
    assert.equal(byClient.reply, "succeeded");
    assert.equal(byClient.bytes_up, 4);

    const d = await tunnelTo(proxy.ports[0], resetter.port);
    const destPort = d.socket.localPort!;
    d.send(new TextEncoder().encode("reset"));
    await d.readUntilClose();
    d.close();
    const byDest = await lineOf(proxy.log, destPort);
    assert.equal(byDest.end, "dest_reset", JSON.stringify(byDest));
    assert.equal(byDest.bytes_up, 9);
  } finally {
    await proxy.stop();
  }
});

test("a plain-text client on a use_tls listener still gets one access line: end=error, a TLS detail", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", use_tls: true, hostname: "proxy.test", timeout: "2s" }],
  });
  try {
    const c = await rawConnect(proxy.ports[0]);
    const port = c.socket.localPort!;
    c.send([5, 1, 0]);
    await c.readUntilClose();
    const line = await lineOf(proxy.log, port);
    assert.equal(line.end, "error");
    assert.match(String(line.detail), /^TLS handshake failed: /);
    assert.equal(line.reply, undefined);
  } finally {
    await proxy.stop();
  }
});

test("a tunnel still open when the grace period ends is logged with end=shutdown", async () => {
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }], shutdown_grace_period: "1s" });
  const c = await tunnelTo(proxy.ports[0], echo.port);
  const port = c.socket.localPort!;
  assert.equal(await proxy.stop("SIGTERM"), 0);
  c.close();
  const line = humanAccessLines(proxy.log()).filter((l) => l.client === `127.0.0.1:${port}`);
  assert.equal(line.length, 1, proxy.log());
  assert.equal(line[0].end, "shutdown");
  assert.equal(line[0].bytes_down, 4);
});
