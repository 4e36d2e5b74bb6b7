// The failed-login WARN is rate-limited per client IP and username: a client
// retrying a wrong password writes one WARN a minute, another username from
// the same client its own; the access log still has one line per attempt.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { configureLogging } from "../../src/log/index.ts";
import { getRuntime } from "../../src/runtime/index.ts";
import { NULL_OBSERVER, ProxyServer, withAccessLog } from "../../src/server/index.ts";
import { rawConnect } from "../helpers/raw-client.ts";
import { humanAccessLines, pollFor } from "./helpers.ts";

after(() => configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => void l }));

// Names of their own: the limiter is per process, and Bun runs many test files in one.
const ALICE = "alice-warn-test";
const BOB = "bob-warn-test";

async function wrongLogin(port: number, user: string): Promise<void> {
  const c = await rawConnect(port);
  c.send([5, 1, 2]);
  assert.deepEqual([...await c.read(2)], [5, 2]);
  const u = new TextEncoder().encode(user);
  c.send([1, u.length, ...u, 3, 98, 97, 100]);
  assert.deepEqual([...await c.read(2)], [1, 1]);
  await c.readUntilClose();
}

test("five wrong passwords for alice and one for bob from one client: two WARN lines, six access lines", async () => {
  let log = "";
  configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => log += l });
  const runtime = getRuntime();
  const server = await ProxyServer.start({
    runtime,
    users: [{ username: ALICE, password: "right" }, { username: BOB, password: "right" }],
    observer: withAccessLog(NULL_OBSERVER),
    listeners: [{
      listen: { host: "127.0.0.1", port: 0, text: "127.0.0.1:0" },
      timeout: 5,
      require_auth: true,
      allow_domain_names: true,
    }],
  });
  try {
    const port = server.listeners[0].addr.port;
    for (let i = 0; i < 5; i++) await wrongLogin(port, ALICE);
    await wrongLogin(port, BOB);
    const lines = await pollFor(() => humanAccessLines(log), (l) => l.length >= 6);
    assert.equal(lines.length, 6);
    assert.deepEqual(lines.map((l) => l.end), Array(6).fill("auth_failed"));
    const warns = log.split("\n").filter((l) => l.includes("[WARNING]"));
    assert.equal(warns.length, 2, log);
    assert.match(warns[0], /authentication failed for user alice-warn-test from 127\.0\.0\.1:\d+$/);
    assert.match(warns[1], /authentication failed for user bob-warn-test from 127\.0\.0\.1:\d+$/);
    assert.doesNotMatch(log, /right|bad/, "no password, right or wrong");
  } finally {
    await server.stop(0);
  }
});
