// SIGHUP reloads the config file: listeners added, users replaced, open
// tunnels untouched; a broken file changes nothing and its problems are logged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { SocksClient } from "socks";
import { sendSignal, startProxy } from "../helpers/proxy-process.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";
import { startEchoTarget } from "../helpers/target.ts";

/** Whether user:password can open a tunnel through 127.0.0.1:port to the echo target. */
async function canConnect(port: number, password: string, target: number): Promise<boolean> {
  try {
    const { socket } = await SocksClient.createConnection({
      proxy: { host: "127.0.0.1", port, type: 5, userId: "mta", password },
      command: "connect",
      destination: { host: "127.0.0.1", port: target },
      timeout: 5_000,
    });
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

test("SIGHUP: a new listener accepts, a changed password applies, an open tunnel keeps flowing; a broken file changes nothing", async () => {
  const echo = await startEchoTarget();
  const first = {
    proxy_listeners: [{ listen: "127.0.0.1:0", require_auth: true }],
    users: [{ username: "mta", password: "old-secret" }],
  };
  const proxy = await startProxy(first);
  try {
    const [port] = proxy.ports;
    assert.equal(await canConnect(port, "old-secret", echo.port), true);

    // A tunnel that stays open across both reloads.
    const tunnel = await rawConnect(port);
    const enc = new TextEncoder();
    const [u, p] = [enc.encode("mta"), enc.encode("old-secret")];
    tunnel.send([5, 1, 2]);
    assert.deepEqual([...await tunnel.read(2)], [5, 2]);
    tunnel.send([1, u.length, ...u, p.length, ...p]);
    assert.deepEqual([...await tunnel.read(2)], [1, 0]);
    tunnel.send(ipv4Request(1, "127.0.0.1", echo.port));
    assert.equal((await tunnel.read(10))[1], 0);

    // Reload: the same listener (its port kept) plus a new one, and a new password.
    writeFileSync(
      proxy.configFile,
      JSON.stringify({
        proxy_listeners: [{ listen: "127.0.0.1:0", require_auth: true }, { listen: "127.0.0.2:0", require_auth: true }],
        users: [{ username: "mta", password: "new-secret" }],
      }),
    );
    sendSignal(proxy.child, "SIGHUP");
    await proxy.waitForLog(/configuration reloaded/);
    const added = [...proxy.log().matchAll(/proxy listener on 127\.0\.0\.2:(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(added.length, 1, "the new listener was bound");
    tunnel.send([1, 2, 3]);
    assert.deepEqual([...await tunnel.read(3)], [1, 2, 3], "the open tunnel still flows");
    assert.equal(await canConnect(port, "old-secret", echo.port), false, "the old password is refused");
    assert.equal(await canConnect(port, "new-secret", echo.port), true, "the new password is accepted");
    const viaNew = await rawConnect(added[0], "127.0.0.2");
    viaNew.send([5, 1, 2]);
    assert.deepEqual([...await viaNew.read(2)], [5, 2], "the new listener speaks SOCKS5");
    viaNew.close();

    // A broken file: problems logged, nothing changes.
    writeFileSync(proxy.configFile, JSON.stringify({ proxy_listeners: [{ listen: "127.0.0.1:0", timeout: "sixty" }] }));
    sendSignal(proxy.child, "SIGHUP");
    await proxy.waitForLog(/the running configuration stays/);
    assert.match(proxy.log(), /reload refused: .*\$\.proxy_listeners\[0\]\.timeout/);
    assert.equal(await canConnect(port, "new-secret", echo.port), true, "the running configuration stays");
    tunnel.send([4, 5]);
    assert.deepEqual([...await tunnel.read(2)], [4, 5], "the open tunnel is still untouched");
    tunnel.close();
  } finally {
    assert.equal(await proxy.stop(), 0);
    await echo.close();
  }
});

test("SIGHUP removes a listener that is no longer configured", async () => {
  const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }, { listen: "127.0.0.3:0" }] });
  try {
    const removedPort = proxy.ports[1];
    writeFileSync(proxy.configFile, JSON.stringify({ proxy_listeners: [{ listen: "127.0.0.1:0" }] }));
    sendSignal(proxy.child, "SIGHUP");
    await proxy.waitForLog(/configuration reloaded/);
    assert.match(proxy.log(), /removed \[127\.0\.0\.3:0\]/);
    await assert.rejects(rawConnect(removedPort, "127.0.0.3"), /ECONNREFUSED/);
    const kept = await rawConnect(proxy.ports[0]);
    kept.send([5, 1, 0]);
    assert.deepEqual([...await kept.read(2)], [5, 0]);
    kept.close();
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
