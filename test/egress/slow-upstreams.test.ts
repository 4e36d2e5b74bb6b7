// Slow and hanging upstream SOCKS5 proxies (issue 16, point 4): a source's
// connect_timeout (default a quarter of the listener timeout) bounds reaching
// its proxy and the handshake before CONNECT, and the rest of a CONNECT reply
// that has started; running past it is a proxy failure, so the pool fails
// over and suspend_when_proxy_unhealthy sees it. No CONNECT reply at all is
// still a destination time-out. The misbehaving upstreams are tiny node:net
// servers written here; the good one is a real proxy-server child. Also: the
// "every source is suspended" WARN is rate-limited per pool (point 6).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { EgressConnectError, EgressRegistry, SUSPENDED_WARN_INTERVAL_SECONDS } from "../../src/egress/index.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";
import { sample } from "../helpers/prometheus.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { collectLogs, ManualClock, recorder, runtime, tunnel } from "./helpers.ts";

/** How a scripted upstream answers one message: at once, one byte per second, or never. */
type Pace = "prompt" | "trickle" | "silent";

/** A scripted upstream SOCKS5 proxy on loopback. */
interface ScriptedUpstream {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/**
 * A SOCKS5 "proxy" that accepts TCP, selects no-auth, answers BIND and
 * CONNECT with success (BND 127.0.0.1:0), each reply at its `Pace`, and
 * never relays anything. It reads whole messages of the shapes proxy-server
 * sends (a greeting, then IPv4 requests).
 */
function scriptedUpstream(pace: { greeting: Pace; bind?: Pace; connect: Pace }): Promise<ScriptedUpstream> {
  const sockets = new Set<Socket>();
  const state = { accepted: 0 };
  const server: Server = createServer((socket) => {
    state.accepted++;
    sockets.add(socket);
    const timers = new Set<ReturnType<typeof setInterval>>();
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(socket);
      for (const t of timers) clearInterval(t);
    });
    const send = (bytes: number[], how: Pace) => {
      if (how === "silent") return;
      if (how === "prompt") {
        socket.write(Uint8Array.from(bytes));
        return;
      }
      // One byte now, then one a second (bounded by the reply's length).
      let i = 0;
      const next = () => {
        if (socket.destroyed || i >= bytes.length) return false;
        socket.write(Uint8Array.of(bytes[i++]));
        return i < bytes.length;
      };
      if (!next()) return;
      const timer = setInterval(() => {
        if (!next()) {
          clearInterval(timer);
          timers.delete(timer);
        }
      }, 1000);
      timers.add(timer);
    };
    const success = [5, 0, 0, 1, 127, 0, 0, 1, 0, 0];
    let buffered = new Uint8Array(0);
    let step: "greeting" | "request" | "done" = "greeting";
    socket.on("data", (chunk: Uint8Array) => {
      const joined = new Uint8Array(buffered.length + chunk.length);
      joined.set(buffered);
      joined.set(chunk, buffered.length);
      buffered = joined;
      // Each pass consumes one whole message; at most a few per chunk.
      for (let guard = 0; guard < 8; guard++) {
        if (step === "greeting" && buffered.length >= 2 && buffered.length >= 2 + buffered[1]) {
          buffered = buffered.subarray(2 + buffered[1]);
          step = "request";
          send([5, 0], pace.greeting);
        } else if (step === "request" && buffered.length >= 10) {
          const cmd = buffered[1];
          buffered = buffered.subarray(10);
          if (cmd === 2) {
            send(success, pace.bind ?? "prompt");
          } else {
            step = "done";
            send(success, pace.connect);
          }
        } else {
          break;
        }
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as { port: number }).port,
        get accepted() {
          return state.accepted;
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

let echo: EchoTarget;
let good: RunningProxy;
let silent: ScriptedUpstream;
let crawling: ScriptedUpstream;
let stallsInConnectReply: ScriptedUpstream;
let neverAnswersConnect: ScriptedUpstream;
const logs = collectLogs();

before(async () => {
  echo = await startEchoTarget();
  good = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  silent = await scriptedUpstream({ greeting: "silent", connect: "silent" });
  crawling = await scriptedUpstream({ greeting: "trickle", bind: "trickle", connect: "trickle" });
  stallsInConnectReply = await scriptedUpstream({ greeting: "prompt", bind: "prompt", connect: "trickle" });
  neverAnswersConnect = await scriptedUpstream({ greeting: "prompt", bind: "prompt", connect: "silent" });
});

after(async () => {
  await good?.stop();
  await Promise.all([silent, crawling, stallsInConnectReply, neverAnswersConnect].map((u) => u?.close()));
  await echo?.close();
});

const dest = () => ({ host: "127.0.0.1", port: echo.port });

test("a pool of a silent upstream and a good one, listener timeout 5s: 10 tunnels each served by the good one in under 2s", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "p", timeout: "5s" }],
    sources: {
      silent: { socks5_proxy_server: `127.0.0.1:${silent.port}` },
      good: { socks5_proxy_server: `127.0.0.1:${good.ports[0]}`, socks5_proxy_source_address: "127.0.0.2" },
    },
    pools: { p: { entries: [{ name: "silent" }, { name: "good" }] } },
  });
  try {
    const before = echo.peers.length;
    const acceptedBefore = silent.accepted;
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      assert.equal(await tunnel(proxy.ports[0], echo.port), 0, `tunnel ${i}`);
      times.push(Math.round(performance.now() - started));
    }
    assert.ok(times.every((ms) => ms < 2000), `each tunnel under 2 s, took ${times.join(", ")} ms`);
    assert.deepEqual(echo.peers.slice(before), Array(10).fill("127.0.0.2"), "every tunnel went through the good one");
    const tried = silent.accepted - acceptedBefore;
    assert.ok(tried >= 4, `the silent upstream was tried (${tried} times) and cost each of those tunnels < 2 s`);
    assert.equal(proxy.log().match(/source silent failed \(ProxyUnhealthy\)/g)?.length, tried);
  } finally {
    await proxy.stop();
  }
});

test('an upstream answering 1 byte per second, Threshold "3/1m": three tunnels and it is suspended (metrics), then 0x01 at once', async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "p", timeout: "5s" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    sources: {
      slow: {
        socks5_proxy_server: `127.0.0.1:${crawling.port}`,
        socks5_proxy_source_address: "127.0.0.2",
        suspend_when_proxy_unhealthy: { trigger: { Threshold: "3/1m" }, duration: "1m" },
      },
    },
    pools: { p: { entries: [{ name: "slow" }] } },
  });
  const metrics = async () => (await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/metrics`)).body;
  const suspended = (text: string) =>
    sample(text, "egress_source_health_suspended", { source: "slow", reason: "ProxyUnhealthy" }) ?? 0;
  try {
    for (let i = 1; i <= 3; i++) {
      const started = performance.now();
      assert.equal(await tunnel(proxy.ports[0], echo.port), 0x01, `tunnel ${i}: the proxy failure`);
      const ms = performance.now() - started;
      assert.ok(ms < 2500, `tunnel ${i} failed after connect_timeout (1.25 s), not the listener timeout: ${ms} ms`);
      const text = await metrics();
      assert.equal(
        sample(text, "egress_source_connection_failures_total", { source: "slow", kind: "ProxyUnhealthy" }),
        i,
      );
      assert.equal(suspended(text), i < 3 ? 0 : 1, `suspended after tunnel ${i}`);
    }
    assert.match(proxy.log(), /WARN.*egress source slow auto-suspended for 60s \(ProxyUnhealthy\)/);
    const started = performance.now();
    assert.equal(await tunnel(proxy.ports[0], echo.port), 0x01);
    assert.ok(performance.now() - started < 1000, "a suspended pool answers at once");
  } finally {
    await proxy.stop();
  }
});

test("a CONNECT reply that starts and then stalls is a proxy failure after connect_timeout; the pool fails over", async () => {
  const observer = recorder();
  const registry = new EgressRegistry({
    sources: {
      stalls: {
        socks5_proxy_server: { host: "127.0.0.1", port: stallsInConnectReply.port },
        socks5_proxy_source_address: "127.0.0.2",
        connect_timeout: 0.5,
      },
      direct: {},
    },
    pools: { p: { entries: [{ name: "stalls" }, { name: "direct" }] } },
  }, { runtime, observer });
  try {
    const started = performance.now();
    await assert.rejects(registry.source("stalls").connect(dest(), { timeout: 10 }), (error: unknown) => {
      assert.ok(error instanceof EgressConnectError);
      assert.equal(error.kind, "ProxyUnhealthy");
      assert.match(error.message, /CONNECT reply started but was not complete within connect_timeout 0\.5s/);
      return true;
    });
    const ms = performance.now() - started;
    assert.ok(ms >= 450 && ms < 3000, `failed ${ms} ms in: after connect_timeout, well before the 10 s timeout`);
    assert.equal(observer.count("connectionFailed", "stalls", "ProxyUnhealthy"), 1);

    const pool = registry.pool("p")!;
    for (let i = 0; i < 2; i++) (await pool.connect(dest(), { timeout: 10 })).close();
    assert.equal(observer.count("connectionOpened", "direct"), 2, "both went out through the other source");
    assert.equal(observer.count("connectionFailed", "stalls", "ProxyUnhealthy"), 2, "the pool tried it once");
  } finally {
    await registry.stop();
  }
});

test("an upstream that accepts CONNECT and never answers (a slow destination) is a destination time-out, not suspended", async () => {
  const observer = recorder();
  const registry = new EgressRegistry({
    sources: {
      waiting: {
        socks5_proxy_server: { host: "127.0.0.1", port: neverAnswersConnect.port },
        socks5_proxy_source_address: "127.0.0.2",
        suspend_when_proxy_unhealthy: { trigger: "Immediate", duration: 60 },
      },
    },
    pools: {},
  }, { runtime, observer });
  try {
    const started = performance.now();
    await assert.rejects(registry.source("waiting").connect(dest(), { timeout: 1.5 }), (error: unknown) => {
      assert.ok(error instanceof EgressConnectError);
      assert.equal(error.kind, "Destination");
      assert.equal(error.code, "ETIMEDOUT");
      return true;
    });
    const ms = performance.now() - started;
    assert.ok(ms >= 1400, `it waited for the whole timeout (1.5 s), not connect_timeout (0.375 s): ${ms} ms`);
    assert.equal(observer.count("connectionFailed", "waiting"), 0);
    assert.equal(registry.status("waiting").suspended, false);
  } finally {
    await registry.stop();
  }
});

test("connect_timeout set by hand: a silent upstream fails after it, whatever the caller's timeout", async () => {
  const registry = new EgressRegistry({
    sources: { silent: { socks5_proxy_server: { host: "127.0.0.1", port: silent.port }, connect_timeout: 0.3 } },
    pools: {},
  }, { runtime });
  try {
    const source = registry.source("silent");
    assert.equal(source.connectTimeout(60), 0.3);
    const started = performance.now();
    await assert.rejects(source.connect(dest(), { timeout: 30 }), (error: unknown) => {
      assert.ok(error instanceof EgressConnectError);
      assert.equal(error.kind, "ProxyUnhealthy");
      assert.match(error.message, /proxy handshake was not done within connect_timeout 0\.3s/);
      return true;
    });
    const ms = performance.now() - started;
    assert.ok(ms >= 250 && ms < 2000, `failed ${ms} ms in`);
  } finally {
    await registry.stop();
  }
});

test("the default connect_timeout is a quarter of the caller's timeout (15 s of the default 60 s)", () => {
  const registry = new EgressRegistry({
    sources: { up: { socks5_proxy_server: { host: "127.0.0.1", port: 1 } } },
    pools: {},
  }, { runtime });
  assert.equal(registry.source("up").connectTimeout(5), 1.25);
  assert.equal(registry.source("up").connectTimeout(60), 15);
});

test("every source suspended: one WARN per pool per minute, the rest at DEBUG, counted in the next WARN", async () => {
  const clock = new ManualClock();
  const registry = new EgressRegistry({
    sources: { a: { socks5_proxy_server: { host: "127.0.0.1", port: silent.port } } },
    pools: { p: { entries: [{ name: "a" }] }, q: { entries: [{ name: "a" }] } },
  }, { runtime, clock });
  const warns = () => logs.text().match(/WARN.*egress pool p: every source is suspended[^\n]*/g) ?? [];
  const debugs = () => logs.text().match(/DEBUG.*egress pool p: every source is suspended/g)?.length ?? 0;
  try {
    registry.suspend("a", 3600, "Maintenance");
    const [warned, debugged] = [warns().length, debugs()];
    const pool = registry.pool("p")!;
    for (let i = 0; i < 5; i++) await assert.rejects(pool.connect(dest(), { timeout: 5 }), /every source/);
    assert.equal(warns().length - warned, 1, "the first one is a WARN");
    assert.equal(debugs() - debugged, 4, "the repeats are DEBUG");
    await assert.rejects(registry.pool("q")!.connect(dest(), { timeout: 5 }), /every source/);
    assert.match(logs.text(), /WARN.*egress pool q: every source is suspended/, "each pool has its own limit");

    clock.advance(SUSPENDED_WARN_INTERVAL_SECONDS * 1000 - 1);
    await assert.rejects(pool.connect(dest(), { timeout: 5 }), /every source/);
    assert.equal(warns().length - warned, 1, "still inside the minute");
    clock.advance(1);
    await assert.rejects(pool.connect(dest(), { timeout: 5 }), /every source/);
    assert.equal(warns().length - warned, 2, "a minute later, a WARN again");
    assert.match(warns().at(-1)!, /\(5 similar lines dropped\)/);
  } finally {
    await registry.stop();
  }
});
