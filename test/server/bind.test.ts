// KumoMTA's source-address selection: BIND <source-ip>:0, then CONNECT.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";

let proxy: RunningProxy;
let echo: EchoTarget;

before(async () => {
  echo = await startEchoTarget("127.0.0.1");
  proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
});

async function greeted() {
  const c = await rawConnect(proxy.ports[0]);
  c.send([5, 1, 0]);
  assert.deepEqual([...await c.read(2)], [5, 0]);
  return c;
}

test("BIND 127.0.0.2:0 then CONNECT: the target sees the connection from 127.0.0.2", async () => {
  const c = await greeted();
  c.send(ipv4Request(2, "127.0.0.2", 0));
  const bindReply = await c.read(10);
  assert.deepEqual([...bindReply.slice(0, 4)], [5, 0, 0, 1], "BIND succeeds with an IPv4 BND.ADDR");
  assert.deepEqual([...bindReply.slice(4, 8)], [127, 0, 0, 2], "BND.ADDR is the bound source address");
  c.send(ipv4Request(1, "127.0.0.1", echo.port));
  const connectReply = await c.read(10);
  assert.deepEqual([...connectReply.slice(0, 8)], [5, 0, 0, 1, 127, 0, 0, 2], "BND.ADDR is the outbound local address");
  const bndPort = (connectReply[8] << 8) | connectReply[9];
  assert.ok(bndPort > 0);
  c.send(new TextEncoder().encode("ping"));
  assert.equal(new TextDecoder().decode(await c.read(4)), "ping");
  c.close();
  assert.equal(echo.peers.at(-1), "127.0.0.2");
});

test("BIND of an address this host lacks gets an error reply, and the server keeps serving", async () => {
  const c = await greeted();
  c.send(ipv4Request(2, "192.0.2.1", 0));
  const reply = await c.readUntilClose();
  assert.equal(reply[0], 5);
  assert.notEqual(reply[1], 0, "BIND must fail");
  const d = await greeted();
  d.send(ipv4Request(1, "127.0.0.1", echo.port));
  assert.equal((await d.read(10))[1], 0);
  d.send([1, 2, 3]);
  assert.deepEqual([...await d.read(3)], [1, 2, 3]);
  d.close();
});

test("a second BIND is refused with 0x01", async () => {
  const c = await greeted();
  c.send(ipv4Request(2, "127.0.0.2", 0));
  assert.equal((await c.read(10))[1], 0);
  c.send(ipv4Request(2, "127.0.0.3", 0));
  const reply = await c.readUntilClose();
  assert.deepEqual([reply[0], reply[1]], [5, 1]);
});

test("half-close: the client's FIN reaches the target and the reply still flows back", async () => {
  const c = await greeted();
  c.send(ipv4Request(1, "127.0.0.1", echo.port));
  assert.equal((await c.read(10))[1], 0);
  c.send(new TextEncoder().encode("last words"));
  c.socket.end();
  const back = await c.readUntilClose();
  assert.equal(new TextDecoder().decode(back), "last words");
});
