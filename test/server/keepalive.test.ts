// tcp_keepalive, checked the way an operator would: `ss -tno` on loopback
// shows the keep-alive timer of the proxy's accepted and outbound sockets.
// Bun sets the idle time everywhere; Deno only toggles keep-alive on its own
// sockets (the kernel's idle time applies), sets the time on the node:net
// sockets it uses for a bound source address, and cannot enable keep-alive
// on accepted TLS connections. The start-up notice says what is not applied.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startProxy } from "../helpers/proxy-process.ts";
import { ipv4Request, type RawClient, rawConnect } from "../helpers/raw-client.ts";
import { idleSockets, kernelKeepAliveTime } from "../helpers/ss.ts";
import { startEchoTarget } from "../helpers/target.ts";

const onDeno = "Deno" in globalThis;
const fixtures = new URL("../runtime/fixtures/", import.meta.url).pathname;
/** The configured idle time, seconds ("2m"). */
const TIME = 120;

/** Open a tunnel to the echo target (after an optional KumoMTA-style BIND) and pass one byte through it. */
async function tunnel(c: RawClient, echoPort: number, bind?: string): Promise<void> {
  c.send([5, 1, 0]);
  assert.deepEqual([...await c.read(2)], [5, 0]);
  if (bind) {
    c.send(ipv4Request(2, bind, 0));
    assert.equal((await c.read(10))[1], 0, "BIND reply");
  }
  c.send(ipv4Request(1, "127.0.0.1", echoPort));
  assert.equal((await c.read(10))[1], 0, "CONNECT reply");
  c.send([42]);
  assert.deepEqual([...await c.read(1)], [42]);
}

/** Assert a keep-alive timer that reflects the configured time. */
function assertConfiguredTime(seconds: number | undefined, what: string): void {
  assert.ok(seconds !== undefined, `${what}: a keep-alive timer`);
  assert.ok(seconds <= TIME, `${what}: at most ${TIME}s left, got ${seconds}s`);
}

/** Assert a keep-alive timer that runs on the kernel's idle time, not the configured one. */
function assertKernelTime(seconds: number | undefined, what: string): void {
  assert.ok(seconds !== undefined, `${what}: a keep-alive timer`);
  const kernel = kernelKeepAliveTime();
  assert.ok(seconds <= kernel, `${what}: at most the kernel's ${kernel}s, got ${seconds}s`);
  if (kernel > TIME + 5) assert.ok(seconds > TIME, `${what}: the configured ${TIME}s is not applied, got ${seconds}s`);
}

test("keep-alive is on for the accepted and the outbound socket, with the configured time where the runtime can set it", async () => {
  const echo = await startEchoTarget();
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", tcp_keepalive: { time: "2m", interval: "10s", retries: 5 } }],
  });
  const clients: RawClient[] = [];
  try {
    const port = proxy.ports[0];
    const direct = await rawConnect(port);
    clients.push(direct);
    await tunnel(direct, echo.port);
    const [accepted] = await idleSockets(`sport = :${port}`, 1);
    const [outbound] = await idleSockets(`dport = :${echo.port}`, 1);
    if (onDeno) {
      assertKernelTime(accepted.keepalive, "accepted socket");
      assertKernelTime(outbound.keepalive, "outbound socket");
    } else {
      assertConfiguredTime(accepted.keepalive, "accepted socket");
      assertConfiguredTime(outbound.keepalive, "outbound socket");
    }
    // An outbound socket bound to a source address (BIND then CONNECT).
    const bound = await rawConnect(port);
    clients.push(bound);
    await tunnel(bound, echo.port, "127.0.0.1");
    const outbounds = await idleSockets(`dport = :${echo.port}`, 2);
    const fromBind = outbounds.find((s) => s.local !== outbound.local)!;
    assertConfiguredTime(fromBind.keepalive, "outbound socket from a bound source address");
    // One notice, naming what cannot be applied.
    const notices = proxy.log().split("\n").filter((l) => l.includes("notice: tcp_keepalive"));
    assert.equal(notices.length, 1, proxy.log());
    assert.match(notices[0], /interval \(127\.0\.0\.1:0\): the keep-alive interval cannot be set/);
    assert.match(notices[0], /retries \(127\.0\.0\.1:0\): the keep-alive retries cannot be set/);
    if (onDeno) assert.match(notices[0], /time cannot be set on Deno's own sockets/);
    else assert.doesNotMatch(notices[0], /time \(/, "Bun sets the time");
  } finally {
    clients.forEach((c) => c.close());
    assert.equal(await proxy.stop(), 0);
    await echo.close();
  }
});

test("no tcp_keepalive: keep-alive is on with KumoProxy's 5 minutes where the runtime sets it, and no notice", async () => {
  const echo = await startEchoTarget();
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  const c = await rawConnect(proxy.ports[0]);
  try {
    await tunnel(c, echo.port);
    const [accepted] = await idleSockets(`sport = :${proxy.ports[0]}`, 1);
    const [outbound] = await idleSockets(`dport = :${echo.port}`, 1);
    // Bun sets TCP_KEEPIDLE on both sockets; Deno's own sockets keep the kernel's time.
    const expected = onDeno ? kernelKeepAliveTime() : 300;
    for (const [what, socket] of [["accepted", accepted], ["outbound", outbound]] as const) {
      assert.ok(socket.keepalive !== undefined, `${what}: a keep-alive timer: ${socket.line}`);
      assert.ok(
        socket.keepalive <= expected && socket.keepalive > expected - 120,
        `${what}: ${expected}s, got ${socket.keepalive}s: ${socket.line}`,
      );
    }
    assert.doesNotMatch(proxy.log(), /notice: tcp_keepalive/);
  } finally {
    c.close();
    assert.equal(await proxy.stop(), 0);
    await echo.close();
  }
});

test("tcp_keepalive enabled: false leaves both sockets without keep-alive and prints no notice", async () => {
  const echo = await startEchoTarget();
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0", tcp_keepalive: { enabled: false } }] });
  const c = await rawConnect(proxy.ports[0]);
  try {
    await tunnel(c, echo.port);
    const [accepted] = await idleSockets(`sport = :${proxy.ports[0]}`, 1);
    const [outbound] = await idleSockets(`dport = :${echo.port}`, 1);
    assert.equal(accepted.keepalive, undefined, accepted.line);
    assert.equal(outbound.keepalive, undefined, outbound.line);
    assert.doesNotMatch(proxy.log(), /notice: tcp_keepalive/);
  } finally {
    c.close();
    assert.equal(await proxy.stop(), 0);
    await echo.close();
  }
});

test("on a TLS listener, keep-alive is set on the accepted socket on Bun; Deno cannot set it on TLS connections", async () => {
  const echo = await startEchoTarget();
  const proxy = await startProxy({
    proxy_listeners: [{
      listen: "127.0.0.1:0",
      use_tls: true,
      tls_certificate: `${fixtures}localhost-cert.pem`,
      tls_private_key: `${fixtures}localhost-key.pem`,
      tcp_keepalive: { time: "2m" },
    }],
  });
  const c = await rawConnect(proxy.ports[0], "127.0.0.1", undefined, { rejectUnauthorized: false });
  try {
    await tunnel(c, echo.port);
    const [accepted] = await idleSockets(`sport = :${proxy.ports[0]}`, 1);
    const [outbound] = await idleSockets(`dport = :${echo.port}`, 1);
    if (onDeno) {
      assert.equal(accepted.keepalive, undefined, accepted.line);
      assert.match(proxy.log(), /keep-alive cannot be enabled at all on TLS connections/);
      assertKernelTime(outbound.keepalive, "outbound socket");
    } else {
      assertConfiguredTime(accepted.keepalive, "accepted TLS socket");
      assertConfiguredTime(outbound.keepalive, "outbound socket");
    }
  } finally {
    c.close();
    assert.equal(await proxy.stop(), 0);
    await echo.close();
  }
});

test("keepAliveNotes: only written settings the declared support lacks; a use_tls listener needs both tables", async () => {
  const { keepAliveNotes } = await import("../../src/server/server.ts");
  const { getRuntime } = await import("../../src/runtime/index.ts");
  const support = getRuntime().keepAliveSupport;
  const listen = (text: string) => ({ host: "127.0.0.1", port: 0, text });
  assert.deepEqual(
    keepAliveNotes(support, [
      { listen: listen("a") },
      { listen: listen("b"), tcp_keepalive: {} },
      { listen: listen("c"), tcp_keepalive: { enabled: false, interval: 30, retries: 3 } },
    ]),
    [],
  );
  const notes = keepAliveNotes(support, [
    { listen: listen("plain"), tcp_keepalive: { enabled: true } },
    { listen: listen("tls"), use_tls: true, tcp_keepalive: { enabled: true } },
  ]);
  // `enabled` is applied on plain TCP on both runtimes; on TLS connections only where the runtime says so.
  const expected = support.tls.enabled === true
    ? []
    : [{ setting: "enabled", why: support.tls.enabled, listeners: ["tls"] }];
  assert.deepEqual(notes, expected);
});
