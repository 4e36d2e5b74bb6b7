// Issue 9 acceptance: access control and limits, through the real CLI, with
// clients bound to other loopback addresses so client addresses differ.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { SocksClient } from "socks";
import { type RunningProxy, sendSignal, startProxy } from "../helpers/proxy-process.ts";
import { curl } from "../helpers/curl.ts";
import { rawConnect } from "../helpers/raw-client.ts";
import {
  attempt,
  type CountingTarget,
  denied,
  greet,
  reply,
  startCountingTarget,
  tunnel,
  until,
} from "./access-helpers.ts";

let target: CountingTarget;
before(async () => {
  target = await startCountingTarget(["127.0.0.1"]);
});
after(async () => {
  await target?.close();
});

const HTTP = [{ listen: "127.0.0.1:0" }];

describe("allowed_clients", () => {
  let proxy: RunningProxy;
  before(async () => {
    proxy = await startProxy({
      proxy_listeners: [
        { listen: "127.0.0.1:0", allowed_clients: ["127.0.0.1"] },
        { listen: "[::1]:0", allowed_clients: ["::1"] },
      ],
      http_listeners: HTTP,
    });
  });
  after(async () => {
    await proxy?.stop();
  });

  test("a client from 127.0.0.2 is closed before any reply byte; 127.0.0.1 is served; counted once", async () => {
    const outside = await rawConnect(proxy.ports[0], "127.0.0.1", "127.0.0.2");
    outside.send([5, 1, 0]);
    const got = await outside.readUntilClose();
    assert.equal(got.length, 0, "no byte before the close");
    const c = await tunnel(proxy.ports[0], "127.0.0.1", target.port, "127.0.0.1");
    c.close();
    await until(async () => (await denied(proxy.httpPorts[0], `127.0.0.1:${proxy.ports[0]}`, "client")) === 1);
    assert.equal(await denied(proxy.httpPorts[0], `127.0.0.1:${proxy.ports[0]}`, "client"), 1);
    await proxy.waitForLog(/refused 127\.0\.0\.2 \(user -\): connection: not in allowed_clients/, 5_000);
  });

  test("IPv6: ::1 is served on an IPv6 listener allowing ::1", async () => {
    const c = await greet(proxy.ports[1], "::1");
    assert.equal(await reply(c, 1, "127.0.0.1", target.port), 0);
    c.close();
  });
});

test("an IPv4-mapped IPv6 client matches its IPv4 form", async () => {
  // A [::] listener accepts IPv4 clients as ::ffff:a.b.c.d.
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "[::]:0", allowed_clients: ["127.0.0.1/32"] }],
  });
  try {
    const ok = await attempt(proxy.ports[0], "127.0.0.1");
    assert.ok(ok.served, "127.0.0.1 (seen as ::ffff:127.0.0.1) is served");
    ok.client.close();
    const no = await attempt(proxy.ports[0], "127.0.0.2");
    assert.ok(!no.served, "127.0.0.2 (seen as ::ffff:127.0.0.2) is refused");
    no.client.close();
    const v6 = await attempt(proxy.ports[0], "::1");
    assert.ok(!v6.served, "::1 is not 127.0.0.1");
    v6.client.close();
  } finally {
    await proxy.stop();
  }
});

describe("access_rules", () => {
  let proxy: RunningProxy;
  let nine: CountingTarget;
  before(async () => {
    nine = await startCountingTarget(["127.0.0.1"]);
    proxy = await startProxy({
      proxy_listeners: [{ listen: "127.0.0.1:0" }],
      http_listeners: HTTP,
      access_rules: [
        { action: "deny", destinations: ["127.0.0.0/8"], ports: [nine.port] },
        { action: "deny", destinations: [".example.test"] },
        { action: "allow", destinations: ["127.0.0.1"], ports: [target.port] },
        { action: "deny", destinations: ["127.0.0.1"] },
        { action: "deny", commands: ["bind"], clients: ["127.0.0.3"] },
        { action: "allow" },
      ],
    });
  });
  after(async () => {
    await proxy?.stop();
    await nine?.close();
  });

  test("curl to a denied address gets (97) with REP 2 and the target sees no connection", async () => {
    const r = await curl(["--socks5", `127.0.0.1:${proxy.ports[0]}`, `http://127.0.0.1:${nine.port}/`]);
    assert.equal(r.code, 97, r.stderr);
    assert.match(r.stderr, /\(2\)/);
    assert.equal(nine.peers.length, 0);
    await proxy.waitForLog(
      /refused 127\.0\.0\.1 \(user -\): CONNECT 127\.0\.0\.1:\d+: access_rules\[0\] \(deny\)/,
      5_000,
    );
  });

  test("a name that resolves to a denied address (localhost) is refused the same way", async () => {
    const r = await curl(["--socks5-hostname", `127.0.0.1:${proxy.ports[0]}`, `http://localhost:${nine.port}/`]);
    assert.equal(r.code, 97, r.stderr);
    assert.match(r.stderr, /\(2\)/);
    assert.equal(nine.peers.length, 0);
  });

  test("a .example.test suffix rule matches a name and not another (checked before resolving)", async () => {
    const c = await greet(proxy.ports[0]);
    assert.equal(await reply(c, 1, "mx.example.test", 25), 2, "mx.example.test is denied by name");
    c.close();
    const d = await greet(proxy.ports[0]);
    // Allowed by the rules, so it is resolved: .invalid never resolves (REP 4), never REP 2.
    assert.equal(await reply(d, 1, "mx.example-test.invalid", 25), 4);
    d.close();
  });

  test("first match wins when two rules overlap", async () => {
    const c = await tunnel(proxy.ports[0], "127.0.0.1", target.port);
    c.close();
    const other = await startCountingTarget(["127.0.0.1"]);
    try {
      const d = await greet(proxy.ports[0]);
      assert.equal(await reply(d, 1, "127.0.0.1", other.port), 2, "rule 3 denies other ports of 127.0.0.1");
      d.close();
      assert.equal(other.peers.length, 0);
    } finally {
      await other.close();
    }
  });

  test("commands [bind] deny stops KumoMTA's BIND-then-CONNECT at the BIND", async () => {
    const c = await greet(proxy.ports[0], "127.0.0.3");
    assert.equal(await reply(c, 2, "127.0.0.3", 0), 2);
    c.close();
    const d = await greet(proxy.ports[0], "127.0.0.2");
    assert.equal(await reply(d, 2, "127.0.0.2", 0), 0, "another client may BIND");
    assert.equal(await reply(d, 1, "127.0.0.1", target.port), 0);
    d.close();
  });

  test("the metric counts rule denials", async () => {
    assert.ok((await denied(proxy.httpPorts[0], `127.0.0.1:${proxy.ports[0]}`, "rule")) >= 5);
  });
});

test('default_action "deny" refuses what no rule allows', async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    access_rules: [{ action: "allow", ports: [target.port] }],
    default_action: "deny",
  });
  try {
    const before = target.peers.length;
    const c = await greet(proxy.ports[0]);
    assert.equal(await reply(c, 1, "127.0.0.1", target.port + 1 === 65536 ? 1 : target.port + 1), 2);
    c.close();
    const d = await tunnel(proxy.ports[0], "127.0.0.1", target.port);
    d.close();
    assert.equal(target.peers.length, before + 1);
    await proxy.waitForLog(/default_action \(deny\)/, 5_000);
  } finally {
    await proxy.stop();
  }
});

describe("users[].source_addresses", () => {
  let proxy: RunningProxy;
  before(async () => {
    proxy = await startProxy({
      proxy_listeners: [{ listen: "127.0.0.1:0", require_auth: true }],
      users: [
        { username: "a", password: "pa", source_addresses: ["127.0.0.2/32"] },
        { username: "b", password: "pb", source_addresses: ["127.0.0.3/32"] },
      ],
    });
  });
  after(async () => {
    await proxy?.stop();
  });

  test("BIND 127.0.0.2 works and the target sees 127.0.0.2; BIND 127.0.0.3 answers 0x02", async () => {
    const c = await greet(proxy.ports[0], "127.0.0.1", ["a", "pa"]);
    assert.equal(await reply(c, 2, "127.0.0.2", 0), 0);
    assert.equal(await reply(c, 1, "127.0.0.1", target.port), 0);
    c.send([7]);
    assert.deepEqual([...await c.read(1)], [7]);
    c.close();
    assert.equal(target.peers.at(-1), "127.0.0.2");
    const d = await greet(proxy.ports[0], "127.0.0.1", ["a", "pa"]);
    assert.equal(await reply(d, 2, "127.0.0.3", 0), 2);
    d.close();
    await proxy.waitForLog(/refused 127\.0\.0\.1 \(user a\): BIND 127\.0\.0\.3: users\[\]\.source_addresses/, 5_000);
  });

  test("another user allowed 127.0.0.3 gets it", async () => {
    const c = await greet(proxy.ports[0], "127.0.0.1", ["b", "pb"]);
    assert.equal(await reply(c, 2, "127.0.0.3", 0), 0);
    assert.equal(await reply(c, 1, "127.0.0.1", target.port), 0);
    c.close();
  });
});

describe("limits", () => {
  test("max_connections_per_client 5: 20 parallel tunnels from one address give 5; another address gets its own 5", async () => {
    const proxy = await startProxy({
      proxy_listeners: [{ listen: "127.0.0.1:0", max_connections_per_client: 5 }],
      http_listeners: HTTP,
    });
    try {
      const tries = await Promise.all(Array.from({ length: 20 }, () => attempt(proxy.ports[0], "127.0.0.2")));
      assert.equal(tries.filter((t) => t.served).length, 5);
      assert.equal(tries.filter((t) => !t.served).length, 15);
      const others = await Promise.all(Array.from({ length: 6 }, () => attempt(proxy.ports[0], "127.0.0.3")));
      assert.equal(others.filter((t) => t.served).length, 5);
      assert.equal(await denied(proxy.httpPorts[0], `127.0.0.1:${proxy.ports[0]}`, "client_limit"), 16);
      for (const t of [...tries, ...others]) t.client.close();
      // Closing gives the counts back: the address is served again.
      await until(async () => {
        const t = await attempt(proxy.ports[0], "127.0.0.2");
        t.client.close();
        return t.served;
      });
    } finally {
      await proxy.stop();
    }
  });

  test("max_connections 3 per listener: the 4th is closed at accept, whoever it is", async () => {
    const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0", max_connections: 3 }] });
    try {
      const tries = await Promise.all(
        ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"].map((a) => attempt(proxy.ports[0], a)),
      );
      assert.equal(tries.filter((t) => t.served).length, 3);
      for (const t of tries) t.client.close();
    } finally {
      await proxy.stop();
    }
  });

  test("users[].max_connections 5: 20 parallel sessions of one user give 5 tunnels, 15 REP 0x02", async () => {
    const proxy = await startProxy({
      proxy_listeners: [{ listen: "127.0.0.1:0" }],
      users: [{ username: "u", password: "p", max_connections: 5 }, { username: "v", password: "q" }],
    });
    try {
      const sessions = await Promise.all(Array.from({ length: 20 }, async () => {
        const c = await greet(proxy.ports[0], "127.0.0.1", ["u", "p"]);
        return { c, rep: await reply(c, 1, "127.0.0.1", target.port) };
      }));
      assert.equal(sessions.filter((s) => s.rep === 0).length, 5);
      assert.equal(sessions.filter((s) => s.rep === 2).length, 15);
      const other = await greet(proxy.ports[0], "127.0.0.1", ["v", "q"]);
      assert.equal(await reply(other, 1, "127.0.0.1", target.port), 0, "another user is not limited");
      other.close();
      for (const s of sessions) s.c.close();
      assert.match(
        proxy.log(),
        /refused 127\.0\.0\.1 \(user u\): CONNECT 127\.0\.0\.1:\d+: users\[\]\.max_connections/,
      );
    } finally {
      await proxy.stop();
    }
  });

  test('connection_rate "10/1s" refuses the 11th attempt inside one second and serves again after it', async () => {
    const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0", connection_rate: "10/1s" }] });
    try {
      const started = Date.now();
      const tries = await Promise.all(Array.from({ length: 11 }, () => attempt(proxy.ports[0], "127.0.0.2")));
      const elapsed = Date.now() - started;
      for (const t of tries) t.client.close();
      if (elapsed < 900) {
        assert.equal(tries.filter((t) => t.served).length, 10);
      }
      const other = await attempt(proxy.ports[0], "127.0.0.3");
      assert.ok(other.served, "the rate is per client address");
      other.client.close();
      await until(async () => {
        const t = await attempt(proxy.ports[0], "127.0.0.2");
        t.client.close();
        return t.served;
      }, 3000);
    } finally {
      await proxy.stop();
    }
  });

  test('idle_timeout "1s" closes a silent tunnel after about a second and keeps a talking one open', async () => {
    const proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0", idle_timeout: "1s" }] });
    try {
      const silent = await tunnel(proxy.ports[0], "127.0.0.1", target.port);
      const talking = await tunnel(proxy.ports[0], "127.0.0.1", target.port);
      const started = performance.now();
      let silentClosedAt: number | undefined;
      silent.readUntilClose(10_000).then(() => silentClosedAt = performance.now(), () => {});
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 300));
        talking.send([i]);
        assert.deepEqual([...await talking.read(1)], [i], "the talking tunnel stays open");
      }
      assert.ok(performance.now() - started >= 3000);
      assert.ok(silentClosedAt !== undefined, "the silent tunnel was closed");
      const seconds = (silentClosedAt - started) / 1000;
      assert.ok(seconds >= 0.9 && seconds <= 2.5, `closed after ${seconds}s`);
      talking.close();
      silent.close();
    } finally {
      await proxy.stop();
    }
  });
});

test("a reload that tightens a rule refuses new sessions and leaves an open tunnel carrying its bytes", async () => {
  const config = { proxy_listeners: [{ listen: "127.0.0.1:0" }], access_rules: [] as unknown[] };
  const proxy = await startProxy(config);
  try {
    const { socket } = await SocksClient.createConnection({
      proxy: { host: "127.0.0.1", port: proxy.ports[0], type: 5 },
      command: "connect",
      destination: { host: "127.0.0.1", port: target.port },
    });
    writeFileSync(
      proxy.configFile,
      JSON.stringify({ ...config, access_rules: [{ action: "deny", destinations: ["127.0.0.0/8"] }] }),
    );
    sendSignal(proxy.child, "SIGHUP");
    await proxy.waitForLog(/configuration reloaded/);
    const c = await greet(proxy.ports[0]);
    assert.equal(await reply(c, 1, "127.0.0.1", target.port), 2, "new sessions are refused");
    c.close();
    // The open tunnel carries 4 MiB both ways, intact.
    const data = new Uint8Array(4 << 20).map((_, i) => (i * 7919) & 0xff);
    const want = createHash("sha256").update(data).digest("hex");
    const hash = createHash("sha256");
    let got = 0;
    const done = new Promise<void>((resolve, reject) => {
      socket.on("data", (d: Uint8Array) => {
        hash.update(d);
        got += d.length;
        if (got >= data.length) resolve();
      });
      socket.on("error", reject);
      socket.on("close", () => got < data.length && reject(new Error(`closed after ${got} bytes`)));
    });
    socket.end(data);
    await done;
    assert.equal(hash.digest("hex"), want);
    socket.destroy();
  } finally {
    await proxy.stop();
  }
});

test("a non-loopback listener with neither require_auth nor allowed_clients logs an open-proxy WARN", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "0.0.0.0:0" }, { listen: "0.0.0.0:0", require_auth: true }, { listen: "127.0.0.1:0" }],
    users: [{ username: "u", password: "p" }],
  });
  try {
    await proxy.waitForLog(/ started with /);
    const lines = proxy.log().split("\n").filter((l) => /open proxy/.test(l));
    assert.equal(lines.length, 1, proxy.log());
    assert.match(lines[0], /WARN/i);
    assert.match(lines[0], /0\.0\.0\.0:0/);
  } finally {
    await proxy.stop();
  }
});

test("a reload keeps live counts: sessions opened before it count against the limit after it", async () => {
  const config = { proxy_listeners: [{ listen: "127.0.0.1:0", max_connections_per_client: 2 }] };
  const proxy = await startProxy(config);
  try {
    const open = [await tunnel(proxy.ports[0], "127.0.0.1", target.port, "127.0.0.2")];
    open.push(await tunnel(proxy.ports[0], "127.0.0.1", target.port, "127.0.0.2"));
    writeFileSync(
      proxy.configFile,
      JSON.stringify({ proxy_listeners: [{ ...config.proxy_listeners[0], max_connections: 100 }] }),
    );
    sendSignal(proxy.child, "SIGHUP");
    await proxy.waitForLog(/configuration reloaded/);
    const third = await attempt(proxy.ports[0], "127.0.0.2");
    assert.ok(!third.served, "the two tunnels from before the reload still count");
    third.client.close();
    for (const c of open) {
      c.send([9]);
      assert.deepEqual([...await c.read(1)], [9], "the open tunnels still carry bytes");
    }
    open[0].close();
    await until(async () => {
      const t = await attempt(proxy.ports[0], "127.0.0.2");
      t.client.close();
      return t.served;
    });
    open[1].close();
  } finally {
    await proxy.stop();
  }
});
