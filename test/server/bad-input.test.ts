// Bad clients against a running proxy: each gets the right RFC 1928/1929
// reply or a clean close, and a good request right after proves the server
// still serves.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { curl } from "../helpers/curl.ts";
import { closedPort } from "../helpers/peers.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { type HttpTarget, startHttpTarget } from "../helpers/target.ts";

let proxy: RunningProxy;
let target: HttpTarget;
let port: number;
let strictPort: number;

before(async () => {
  target = await startHttpTarget();
  proxy = await startProxy({
    proxy_listeners: [
      { listen: "127.0.0.1:0", timeout: "1s" },
      { listen: "127.0.0.2:0", allow_domain_names: false },
    ],
    users: [{ username: "carol", password: "right" }],
  });
  [port, strictPort] = proxy.ports;
});

after(async () => {
  await proxy?.stop();
  await target?.close();
});

async function stillServes(): Promise<void> {
  const r = await curl(["--socks5", `127.0.0.1:${port}`, `http://127.0.0.1:${target.port}/`]);
  assert.equal(r.code, 0, `server stopped serving: ${r.stderr}`);
  assert.equal(r.stdout, "hello from target\n");
}

async function noAuthClient(p = port, host = "127.0.0.1") {
  const c = await rawConnect(p, host);
  c.send([5, 1, 0]);
  assert.deepEqual([...await c.read(2)], [5, 0]);
  return c;
}

test("wrong version byte: the connection is closed without a reply", async () => {
  const c = await rawConnect(port);
  c.send([4, 1, 0, 80, 127, 0, 0, 1, 0]);
  assert.equal((await c.readUntilClose()).length, 0);
  await stillServes();
});

test("NMETHODS 0: NO ACCEPTABLE METHODS (0xFF), then close", async () => {
  const c = await rawConnect(port);
  c.send([5, 0]);
  assert.deepEqual([...await c.readUntilClose()], [5, 0xff]);
  await stillServes();
});

test("no method the server accepts (only GSSAPI): 0xFF, then close", async () => {
  const c = await rawConnect(port);
  c.send([5, 1, 1]);
  assert.deepEqual([...await c.readUntilClose()], [5, 0xff]);
  await stillServes();
});

test("truncated greeting then close: the server cleans up", async () => {
  const c = await rawConnect(port);
  c.send([5, 2, 0]);
  c.socket.end();
  assert.equal((await c.readUntilClose()).length, 0);
  await stillServes();
});

test("wrong RFC 1929 password: status 0x01, then close", async () => {
  const c = await rawConnect(port);
  c.send([5, 1, 2]);
  assert.deepEqual([...await c.read(2)], [5, 2]);
  const enc = new TextEncoder();
  const u = enc.encode("carol");
  const p = enc.encode("wrong");
  c.send([1, u.length, ...u, p.length, ...p]);
  assert.deepEqual([...await c.readUntilClose()], [1, 1]);
  await stillServes();
});

test("unknown ATYP: reply 0x08 (address type not supported)", async () => {
  const c = await noAuthClient();
  c.send([5, 1, 0, 9, 127, 0, 0, 1, 0, 80]);
  const reply = await c.readUntilClose();
  assert.equal(reply[0], 5);
  assert.equal(reply[1], 8);
  await stillServes();
});

test("domain name of length 0: an error reply, then close", async () => {
  const c = await noAuthClient();
  c.send([5, 1, 0, 3, 0, 0, 80]);
  const reply = await c.readUntilClose();
  assert.equal(reply[0], 5);
  assert.notEqual(reply[1], 0, "must not succeed");
  await stillServes();
});

test("UDP ASSOCIATE: reply 0x07 (command not supported)", async () => {
  const c = await noAuthClient();
  c.send(ipv4Request(3, "0.0.0.0", 0));
  const reply = await c.readUntilClose();
  assert.deepEqual([reply[0], reply[1]], [5, 7]);
  await stillServes();
});

test("CONNECT to a closed port: reply 0x05 (connection refused)", async () => {
  const c = await noAuthClient();
  c.send(ipv4Request(1, "127.0.0.1", await closedPort()));
  const reply = await c.readUntilClose();
  assert.deepEqual([reply[0], reply[1]], [5, 5]);
  await stillServes();
});

test("CONNECT to a name that does not resolve: reply 0x04 (host unreachable)", async () => {
  const c = await noAuthClient();
  const name = new TextEncoder().encode("no-such-host.invalid");
  c.send([5, 1, 0, 3, name.length, ...name, 0, 80]);
  const reply = await c.readUntilClose(20_000);
  assert.deepEqual([reply[0], reply[1]], [5, 4]);
  await stillServes();
});

test("a CONNECT to a name with a NUL byte answers 0x04 before any lookup, and stderr has only access-log lines", async () => {
  const before = proxy.log().length;
  const name = new TextEncoder().encode("a\0b.example");
  const c = await noAuthClient();
  c.send([5, 1, 0, 3, name.length, ...name, 0, 80]);
  assert.deepEqual([...(await c.readUntilClose(5_000)).subarray(0, 2)], [5, 4]);
  // Where domain names are off, the same request is the address type refused (0x08).
  const strict = await noAuthClient(strictPort, "127.0.0.2");
  strict.send([5, 1, 0, 3, name.length, ...name, 0, 80]);
  const reply = await strict.readUntilClose(5_000);
  assert.deepEqual([reply[0], reply[1]], [5, 8]);
  await stillServes();
  // Only the access log's one line per session may appear: no trace, no error.
  const other = proxy.log().slice(before).split("\n").filter((line) =>
    line !== "" && !line.includes("proxy_server::access")
  );
  assert.deepEqual(other, [], "the proxy wrote something other than access-log lines to stderr");
});

test("allow_domain_names false: a DOMAINNAME request gets 0x08, an IP literal still works", async () => {
  const c = await noAuthClient(strictPort, "127.0.0.2");
  const name = new TextEncoder().encode("localhost");
  c.send([5, 1, 0, 3, name.length, ...name, target.port >> 8, target.port & 0xff]);
  const reply = await c.readUntilClose();
  assert.deepEqual([reply[0], reply[1]], [5, 8]);
  const r = await curl(["--socks5", `127.0.0.2:${strictPort}`, `http://127.0.0.1:${target.port}/`]);
  assert.equal(r.code, 0, r.stderr);
});

test("a client that sends nothing is closed when the listener timeout expires", async () => {
  const c = await rawConnect(port);
  assert.equal((await c.readUntilClose(10_000)).length, 0);
  await stillServes();
});

test("a client that stalls after the greeting is closed at the timeout", async () => {
  const c = await noAuthClient();
  c.send([5, 1, 0]); // the start of a request, never finished
  assert.equal((await c.readUntilClose(10_000)).length, 0);
  await stillServes();
});

test("1 MiB of random bytes: closed, and the server carries on", async () => {
  const c = await rawConnect(port);
  const junk = randomBytes(1024 * 1024);
  junk[0] = 5; // look like SOCKS5 so the parser has to cope with the rest
  c.socket.write(junk);
  await c.readUntilClose(10_000);
  await stillServes();
});
