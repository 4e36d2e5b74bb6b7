// The CPU cost of the access log per session, measured in process (not a
// test: run it with `bun test/accounting/access-cost.ts` or `deno run -A
// test/accounting/access-cost.ts`). Two measurements:
// 1. the line alone: logSession() on a finished tunnel's outcome, N times,
//    access log on (written to a sink that drops it, and to a file) vs off;
// 2. whole sessions: N SOCKS5 sessions (greeting, CONNECT to an echo server,
//    4 bytes each way, close) through an in-process ProxyServer with the
//    metrics observer, access log on vs off, CPU time of this process.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { configureLogging } from "../../src/log/index.ts";
import { MetricsObserver, ProxyMetrics } from "../../src/metrics/index.ts";
import { getRuntime } from "../../src/runtime/index.ts";
import { logSession, newOutcome, ProxyServer, withAccessLog } from "../../src/server/index.ts";

const N = Number(process.argv[2] ?? 20000);
const SESSIONS = Number(process.argv[3] ?? 3000);
const runtime = getRuntime();
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000; // ms
};
const dir = mkdtempSync(join(tmpdir(), "access-cost-"));

function outcome() {
  const o = newOutcome("0.0.0.0:1080", { host: "10.1.2.3", port: 54321 });
  Object.assign(o, {
    user: "alice",
    command: 1,
    destination: { host: "mx.example.com", port: 25 },
    connected: { host: "192.0.2.7", port: 25 },
    localAddress: { host: "10.0.0.2", port: 40000 },
    reply: 0,
    end: "completed",
    bytesUp: 1234,
    bytesDown: 56789,
    handshakeSeconds: 0.0123,
    durationSeconds: 1.5,
  });
  return o;
}

function lineCost(label: string, setup: () => void): number {
  setup();
  const o = outcome();
  for (let i = 0; i < 2000; i++) logSession(o); // warm up
  const t = cpu();
  for (let i = 0; i < N; i++) logSession(o);
  const us = (cpu() - t) * 1000 / N;
  console.log(`line alone, ${label}: ${us.toFixed(2)} µs CPU per session`);
  return us;
}

lineCost(
  "off (proxy_server::access=off)",
  () => configureLogging({ filter: "proxy_server=info,proxy_server::access=off", write: () => {} }),
);
lineCost(
  "on, human, dropped sink",
  () => configureLogging({ filter: "proxy_server=info", format: "human", write: () => {} }),
);
lineCost(
  "on, json, dropped sink",
  () => configureLogging({ filter: "proxy_server=info", format: "json", write: () => {} }),
);
lineCost(
  "on, access_file (JSON, one write each)",
  () => configureLogging({ filter: "proxy_server=info", write: () => {}, accessFile: join(dir, "access.log") }),
);
configureLogging({ accessFile: null });
console.log(`  (the access file holds ${statSync(join(dir, "access.log")).size} bytes)`);

// Whole sessions.
const echo = createServer((s: Socket) => {
  s.on("error", () => {});
  s.pipe(s);
});
await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
const echoPort = (echo.address() as { port: number }).port;
const metrics = new ProxyMetrics({ version: "bench", runtime, processMetrics: false });
const observer = withAccessLog(
  new MetricsObserver(metrics, { listeners: ["127.0.0.1:0"], maxOutboundDestinations: 1000 }),
);
const server = await ProxyServer.start({
  runtime,
  users: [],
  observer,
  listeners: [{
    listen: { host: "127.0.0.1", port: 0, text: "127.0.0.1:0" },
    timeout: 10,
    require_auth: false,
    allow_domain_names: true,
  }],
});
const proxyPort = server.listeners[0].addr.port;

function session(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: proxyPort });
    let got = 0;
    let stage = 0;
    s.on("error", reject);
    s.on(
      "connect",
      () => s.write(Uint8Array.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 0xff])),
    );
    s.on("data", (d: Uint8Array) => {
      got += d.length;
      if (stage === 0 && got >= 12) {
        stage = 1;
        got -= 12;
        s.write("ping");
      }
      if (stage === 1 && got >= 4) {
        stage = 2;
        s.end();
      }
    });
    s.on("close", () => resolve());
  });
}

async function sessionsCost(label: string, filter: string): Promise<number> {
  configureLogging({ filter, format: "human", write: () => {} });
  for (let i = 0; i < 300; i++) await session(); // warm up
  const t = cpu();
  const start = performance.now();
  for (let i = 0; i < SESSIONS; i += 10) await Promise.all(Array.from({ length: 10 }, session));
  const ms = cpu() - t;
  console.log(
    `whole sessions, ${label}: ${(ms * 1000 / SESSIONS).toFixed(1)} µs CPU per session ` +
      `(client and server in one process; ${(performance.now() - start).toFixed(0)} ms wall for ${SESSIONS})`,
  );
  return ms * 1000 / SESSIONS;
}

const results: Record<string, number[]> = { off: [], on: [] };
for (let round = 0; round < 3; round++) {
  results.off.push(await sessionsCost("access log off", "proxy_server=info,proxy_server::access=off"));
  results.on.push(await sessionsCost("access log on", "proxy_server=info"));
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(
  `median: off ${median(results.off).toFixed(1)} µs, on ${
    median(results.on).toFixed(1)
  } µs per session (${runtime.name} ${runtime.version})`,
);
await server.stop(0);
echo.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
