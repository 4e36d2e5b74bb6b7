// log.access_file with logrotate's protocol: the file is moved away, SIGUSR1
// is sent, and the next line is in a new file at the configured path; every
// session's line is in one of the two files, none twice, none lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, sendSignal, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";
import { closedPort as findClosedPort } from "../helpers/peers.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { jsonAccessLines, pollFor } from "./helpers.ts";

/** One refused CONNECT; resolves with the client's port (the line's `client`). */
async function refusedSession(proxyPort: number, closedPort: number): Promise<number> {
  const c = await rawConnect(proxyPort);
  c.send([5, 1, 0]);
  assert.deepEqual([...await c.read(2)], [5, 0]);
  c.send(ipv4Request(1, "127.0.0.1", closedPort));
  assert.equal((await c.read(10))[1], 5);
  const port = c.socket.localPort!;
  await c.readUntilClose();
  return port;
}

/** The access lines of `file`, [] while it does not exist. */
const linesOf = (file: string) => existsSync(file) ? jsonAccessLines(readFileSync(file, "utf8")) : [];

test("SIGUSR1 after moving log.access_file away: later lines go to a new file, none is lost", async () => {
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-access-file-"));
  const file = join(dir, "access.log");
  const rotated = join(dir, "access.log.1");
  const closedPort = await findClosedPort();
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }], log: { access_file: file } });
  try {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) ports.push(await refusedSession(proxy.ports[0], closedPort));
    await pollFor(() => linesOf(file), (l) => l.length === 3);
    renameSync(file, rotated);
    // Between the move and the signal, lines still go to the moved file.
    for (let i = 0; i < 2; i++) ports.push(await refusedSession(proxy.ports[0], closedPort));
    await pollFor(() => linesOf(rotated), (l) => l.length === 5);
    sendSignal(proxy.child, "SIGUSR1");
    await proxy.waitForLog(/SIGUSR1: reopened the access log file/);
    for (let i = 0; i < 3; i++) ports.push(await refusedSession(proxy.ports[0], closedPort));
    const fresh = await pollFor(() => linesOf(file), (l) => l.length === 3);
    const old = linesOf(rotated);
    assert.equal(old.length, 5, "the first five lines are in the moved file");
    assert.equal(fresh.length, 3, "the next three are in the new file");
    assert.deepEqual(
      [...old, ...fresh].map((l) => l.client),
      ports.map((p) => `127.0.0.1:${p}`),
      "every session once, in order",
    );
    for (const line of fresh) assert.equal(line.reply, "connection_refused");
    assert.doesNotMatch(proxy.log(), /proxy_server::access:/, "no access line on stderr");
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("a log.access_file that cannot be opened stops the start with exit 1 and says why", async () => {
  const file = writeTempConfig({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    log: { access_file: "/nonexistent-dir/access.log" },
  });
  const r = await runCli(["--config", file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[ERROR\] proxy_server::cli: cannot start: cannot open log\.access_file: .*ENOENT/);
});
