// The access log of a running proxy-server (issue 10): the six sessions
// each leave exactly one line with the right end and reply, in the human and
// the JSON format; a 1 MiB download's bytes_down is exact; a tunnel through
// an egress pool names the pool and the source; the access category can be
// turned off alone; a wrong password gives one WARN with the client's
// ip:port and the username, and no password appears anywhere at any level.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { type HttpTarget, startHttpTarget } from "../helpers/target.ts";
import { closedPort as findClosedPort } from "../helpers/peers.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import {
  checkSixLines,
  humanAccessLines,
  jsonAccessLines,
  PASSWORD,
  pollFor,
  sixSessionConfig,
  sixSessions,
  USER,
  WRONG_PASSWORD,
} from "./helpers.ts";

let target: HttpTarget;
let closedPort: number;

before(async () => {
  target = await startHttpTarget();
  closedPort = await findClosedPort();
});

after(async () => {
  await target?.close();
});

/** Run the six sessions on a proxy started with `config`; resolves with its log once `count` access lines are in. */
async function runSix(config: Record<string, unknown>, read: (log: string) => unknown[], count = 6) {
  const proxy = await startProxy(sixSessionConfig(config));
  try {
    const sessions = await sixSessions(proxy.ports[0], target.port, closedPort);
    await pollFor(() => read(proxy.log()), (lines) => lines.length >= count, 5000);
    return { sessions, log: proxy.log(), proxy };
  } finally {
    await proxy.stop();
  }
}

test("human format, default filter: the six sessions each leave one access line with the right end and reply", async () => {
  const { sessions, log, proxy } = await runSix({}, humanAccessLines);
  const lines = checkSixLines(humanAccessLines(log), sessions);
  // The compact form: key=value, absent fields left out.
  const goodLine = log.split("\n").find((l) => l.includes("proxy_server::access") && l.includes("reply=succeeded"))!;
  assert.ok(goodLine.includes(` listener=127.0.0.1:${proxy.ports[0]} client=`), goodLine);
  assert.match(goodLine, / listener=127\.0\.0\.1:\d+ client=127\.0\.0\.1:\d+ user=alice command=connect destination=/);
  assert.doesNotMatch(goodLine, /bind_address=|egress_pool=/);
  assert.equal(lines.wrongPassword.detail, `authentication failed for user "${USER}"`);
});

test("JSON format: every stderr line parses, the six access lines carry the fields as JSON keys", async () => {
  const { sessions, log } = await runSix({ log: { format: "json" } }, (l) => {
    try {
      return jsonAccessLines(l);
    } catch {
      return []; // a line still being written
    }
  });
  const all = log.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  const lines = checkSixLines(jsonAccessLines(log), sessions);
  assert.equal(typeof lines.good.bytes_down, "number");
  assert.equal(lines.good.level, "INFO");
  // Diagnostic lines keep LogTape's shape, with their fields as properties.
  const warn = all.find((r) => r.level === "WARN" && /authentication failed/.test(r.message));
  assert.ok(warn, "the failed login WARN is a JSON record");
  assert.equal(warn.properties.user, USER);
  assert.match(warn.properties.client, /^127\.0\.0\.1:\d+$/);
});

test("proxy_server::access=off removes the access lines and nothing else", async () => {
  const on = await runSix({}, humanAccessLines);
  const off = await runSix({ log: { filter: "proxy_server=info,proxy_server::access=off" } }, () => [1, 2, 3, 4, 5, 6]);
  assert.equal(humanAccessLines(off.log).length, 0);
  // The same diagnostic lines, ports and times aside.
  const diagnostic = (log: string) =>
    log.split("\n").filter((l) => l !== "" && !l.includes("proxy_server::access"))
      .map((l) => l.replace(/^\S+ /, "").replace(/:\d+/g, ":N").replace(/\/tmp\/\S+/g, "FILE"));
  assert.deepEqual(diagnostic(off.log), diagnostic(on.log));
});

test("a wrong password: one WARN with the client's ip:port and the username; no password anywhere at trace level", async () => {
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-access-"));
  const file = join(dir, "access.log");
  const { sessions, log } = await runSix({ log: { filter: "trace", access_file: file } }, () => {
    try {
      return jsonAccessLines(readFileSync(file, "utf8"));
    } catch {
      return [];
    }
  });
  const warns = log.split("\n").filter((l) => /\[WARNING\].*authentication failed/.test(l));
  assert.equal(warns.length, 1, log);
  assert.ok(
    warns[0].includes(`for user ${USER} from 127.0.0.1:${sessions.ports.wrongPassword}`),
    `WARN names the user and the client's ip:port: ${warns[0]}`,
  );
  const fileText = readFileSync(file, "utf8");
  checkSixLines(jsonAccessLines(fileText), sessions);
  assert.ok(log.includes("[TRACE]") || log.includes("[DEBUG]"), "the most verbose filter is in force");
  for (const [name, text] of [["stderr", log], ["access file", fileText]]) {
    for (const [i, line] of text.split("\n").entries()) {
      assert.ok(!line.includes(PASSWORD), `${name} line ${i + 1} holds the password: ${line}`);
      assert.ok(!line.includes(WRONG_PASSWORD), `${name} line ${i + 1} holds the wrong password: ${line}`);
    }
  }
  assert.equal(humanAccessLines(log).length, 0, "with access_file, no access line on stderr");
});

test("a 1 MiB download: bytes_down is exactly what the client received, bytes_up what it sent", async () => {
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  try {
    const c = await rawConnect(proxy.ports[0]);
    c.send([5, 1, 0]);
    assert.deepEqual([...await c.read(2)], [5, 0]);
    c.send(ipv4Request(1, "127.0.0.1", target.port));
    assert.equal((await c.read(10))[1], 0);
    const request = new TextEncoder().encode("GET /bytes/1048576 HTTP/1.0\r\n\r\n");
    c.send(request);
    const received = await c.readUntilClose();
    const port = c.socket.localPort;
    c.close(); // the proxy half-closed (the target's FIN); the session ends with ours
    assert.ok(received.length > 1048576, `headers and 1 MiB: ${received.length}`);
    const lines = await pollFor(
      () => humanAccessLines(proxy.log()).filter((l) => l.client === `127.0.0.1:${port}`),
      (l) => l.length > 0,
    );
    assert.equal(lines.length, 1);
    assert.equal(lines[0].bytes_down, received.length);
    assert.equal(lines[0].bytes_up, request.length);
    assert.equal(lines[0].end, "completed");
  } finally {
    await proxy.stop();
  }
});

test("through an egress pool, the line names the pool and the source that carried the tunnel", async () => {
  let upstream: RunningProxy | undefined;
  let proxy: RunningProxy | undefined;
  try {
    upstream = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
    proxy = await startProxy({
      proxy_listeners: [{ listen: "127.0.0.1:0", egress_pool: "via-upstream" }],
      sources: { "up-1": { socks5_proxy_server: `127.0.0.1:${upstream.ports[0]}` } },
      pools: { "via-upstream": { entries: [{ name: "up-1" }] } },
    });
    const c = await rawConnect(proxy.ports[0]);
    c.send([5, 1, 0]);
    assert.deepEqual([...await c.read(2)], [5, 0]);
    c.send(ipv4Request(1, "127.0.0.1", target.port));
    assert.equal((await c.read(10))[1], 0);
    c.send(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    await c.readUntilClose();
    const port = c.socket.localPort;
    c.close();
    const p = proxy;
    const lines = await pollFor(
      () => humanAccessLines(p.log()).filter((l) => l.client === `127.0.0.1:${port}`),
      (l) => l.length > 0,
    );
    assert.equal(lines.length, 1, p.log());
    assert.equal(lines[0].egress_pool, "via-upstream");
    assert.equal(lines[0].egress_source, "up-1");
    assert.equal(lines[0].destination, `127.0.0.1:${target.port}`);
    assert.equal(lines[0].reply, "succeeded");
  } finally {
    await proxy?.stop();
    await upstream?.stop();
  }
});
