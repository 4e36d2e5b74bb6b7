// At the open-file limit the proxy stays calm (issue 16): with the limit of
// the proxy process lowered to 200 (`prlimit --nofile=200` on the spawned
// process), 400 clients at once each get a reply or a close, the CPU stays
// well under one core, one WARN says so, proxy_accept_errors_total counts
// the refusals, and once the clients leave the proxy serves again.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { cliCommand, type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";

const LIMIT = 200;
const CLIENTS = 400;

let proxy: RunningProxy;

function hasPrlimit(): boolean {
  try {
    execFileSync("prlimit", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  if (!hasPrlimit()) return;
  proxy = await startProxy(
    { proxy_listeners: [{ listen: "127.0.0.1:0" }], http_listeners: [{ listen: "127.0.0.1:0" }] },
    { command: ["prlimit", `--nofile=${LIMIT}`, ...cliCommand()] },
  );
});

after(async () => {
  await proxy?.stop();
});

/** User plus system CPU time of `pid` so far, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** How one client fared: the greeting's reply, a close without one, or nothing within `ms`. */
type Fate = "reply" | "close" | "hang";

/** Connect, send a SOCKS5 greeting (no auth) and wait up to `ms` for a reply or a close; the socket is kept open. */
function greet(port: number, ms: number, sockets: Socket[]): Promise<Fate> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    sockets.push(s);
    let settled = false;
    const settle = (fate: Fate) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(fate);
    };
    const timer = setTimeout(() => settle("hang"), ms);
    s.on("connect", () => s.write(Uint8Array.of(5, 1, 0)));
    s.on("data", () => settle("reply"));
    s.on("end", () => settle("close"));
    s.on("close", () => settle("close"));
    s.on("error", () => settle("close"));
  });
}

/** The value of `proxy_accept_errors_total{reason="emfile"}` in a scrape. */
function emfileCount(text: string): number {
  const m = /^proxy_accept_errors_total\{listener="[^"]*",reason="emfile"\} (\d+)/m.exec(text);
  return m === null ? NaN : Number(m[1]);
}

test(`${CLIENTS} clients at a file limit of ${LIMIT}: replies or closes, low CPU, one WARN, counted, serves again`, {
  skip: hasPrlimit() ? false : "prlimit (util-linux) is not installed",
}, async () => {
  const pid = proxy.child.pid!;
  const sockets: Socket[] = [];
  const ticksPerSecond = 100; // USER_HZ on Linux
  const t0 = performance.now();
  const c0 = cpuTicks(pid);
  const fates = await Promise.all(Array.from({ length: CLIENTS }, () => greet(proxy.ports[0], 5000, sockets)));
  const count = (f: Fate) => fates.filter((x) => x === f).length;
  assert.equal(
    count("hang"),
    0,
    `every client gets a reply or a close: ${count("reply")} replies, ${count("close")} closes`,
  );
  assert.ok(count("reply") > 0 && count("close") > 0, `${count("reply")} replies, ${count("close")} closes`);
  // The clients stay connected (their sessions wait for a request): the CPU
  // is measured over a window while the proxy is at its budget.
  await new Promise<void>((resolve) => setTimeout(resolve, 2000));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (cpuTicks(pid) - c0) / ticksPerSecond / seconds;
  assert.ok(cpu < 0.5, `CPU over ${seconds.toFixed(1)} s: ${(cpu * 100).toFixed(0)}% of one core`);
  await proxy.waitForLog(/out of file descriptors/, 5000);
  const warns = proxy.log().split("\n").filter((l) => l.includes("out of file descriptors"));
  assert.equal(warns.length, 1, warns.join("\n"));
  const metrics = await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/metrics`);
  assert.equal(emfileCount(metrics.body), count("close"), "every close is counted");
  for (const s of sockets) s.destroy();
  // Serves again: a new client gets its greeting answered once the others are gone (bounded retries).
  let fate: Fate = "close";
  for (let i = 0; i < 50 && fate !== "reply"; i++) {
    const again: Socket[] = [];
    fate = await greet(proxy.ports[0], 2000, again);
    for (const s of again) s.destroy();
    // Polling, bounded: sessions end as the proxy reads each client's close.
    if (fate !== "reply") await new Promise<void>((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(fate, "reply", "the proxy serves again once clients leave");
  console.log(
    `file limit ${LIMIT}: ${count("reply")} replies, ${count("close")} closes, CPU ${(cpu * 100).toFixed(1)}%, ` +
      `emfile ${emfileCount(metrics.body)}`,
  );
});
