// Real SOCKS5 clients (curl, the `socks` npm package) through a running
// proxy-server process to a real local HTTP server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SocksClient } from "socks";
import { curl } from "../helpers/curl.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { type HttpTarget, startHttpTarget } from "../helpers/target.ts";

let proxy: RunningProxy;
let authProxy: RunningProxy;
let v4: HttpTarget;
let v6: HttpTarget;

before(async () => {
  v4 = await startHttpTarget("127.0.0.1");
  v6 = await startHttpTarget("::1");
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }, { listen: "[::1]:0" }],
    users: [{ username: "alice", password: "wonderland" }],
  });
  authProxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", require_auth: true }],
    users: [{ username: "bob", password: { env: "BOB_PASSWORD" } }],
  }, { env: { BOB_PASSWORD: "builder" } });
});

after(async () => {
  await proxy?.stop();
  await authProxy?.stop();
  await v4?.close();
  await v6?.close();
});

test("curl --socks5 reaches an IPv4 literal through the proxy", async () => {
  const r = await curl(["--socks5", `127.0.0.1:${proxy.ports[0]}`, `http://127.0.0.1:${v4.port}/`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hello from target\n");
});

test("curl --socks5 reaches an IPv6 literal, via the IPv6 listener", async () => {
  const r = await curl(["--socks5", `[::1]:${proxy.ports[1]}`, `http://[::1]:${v6.port}/`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hello from target\n");
});

test("curl --socks5-hostname lets the proxy resolve the name", async () => {
  const r = await curl(["--socks5-hostname", `127.0.0.1:${proxy.ports[0]}`, `http://localhost:${v4.port}/`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hello from target\n");
});

test("curl with credentials is authenticated even where auth is optional", async () => {
  const ok = await curl(["--socks5", `alice:wonderland@127.0.0.1:${proxy.ports[0]}`, `http://127.0.0.1:${v4.port}/`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "hello from target\n");
  const bad = await curl(["--socks5", `alice:wrong@127.0.0.1:${proxy.ports[0]}`, `http://127.0.0.1:${v4.port}/`]);
  assert.notEqual(bad.code, 0);
  assert.equal(bad.stdout, "");
});

test("require_auth: credentials from an env secret work, none or wrong ones are refused", async () => {
  const url = `http://127.0.0.1:${v4.port}/`;
  const ok = await curl(["--socks5-hostname", `bob:builder@127.0.0.1:${authProxy.ports[0]}`, url]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "hello from target\n");
  const none = await curl(["--socks5", `127.0.0.1:${authProxy.ports[0]}`, url]);
  assert.notEqual(none.code, 0);
  const wrong = await curl(["--socks5", `bob:nope@127.0.0.1:${authProxy.ports[0]}`, url]);
  assert.notEqual(wrong.code, 0);
  assert.doesNotMatch(authProxy.log(), /nope|builder/, "passwords never reach the log");
});

test("the socks npm client connects through the proxy and BND.ADDR is the outbound local address", async () => {
  const { socket, remoteHost } = await SocksClient.createConnection({
    proxy: { host: "127.0.0.1", port: proxy.ports[0], type: 5 },
    command: "connect",
    destination: { host: "127.0.0.1", port: v4.port },
    timeout: 10_000,
  });
  try {
    assert.equal(remoteHost?.host, "127.0.0.1");
    assert.ok(remoteHost!.port > 0, "BND.PORT is the outbound socket's port");
    const body = await new Promise<string>((resolve, reject) => {
      let text = "";
      socket.on("data", (d: Uint8Array) => text += new TextDecoder().decode(d));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    });
    assert.match(body, /^HTTP\/1\.1 200/);
    assert.match(body, /hello from target\n/);
  } finally {
    socket.destroy();
  }
});

test("the socks npm client authenticates with RFC 1929", async () => {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: "127.0.0.1", port: authProxy.ports[0], type: 5, userId: "bob", password: "builder" },
    command: "connect",
    destination: { host: "127.0.0.1", port: v4.port },
    timeout: 10_000,
  });
  socket.destroy();
  await assert.rejects(
    SocksClient.createConnection({
      proxy: { host: "127.0.0.1", port: authProxy.ports[0], type: 5, userId: "bob", password: "wrong" },
      command: "connect",
      destination: { host: "127.0.0.1", port: v4.port },
      timeout: 10_000,
    }),
    /Authentication/i,
  );
});
