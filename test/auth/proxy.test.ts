// Password hashes through a running proxy-server process: hashing does not
// stall other clients, an unknown user takes as long as a wrong password,
// and the users_cache_ttl cache spares the hash of repeated logins (counted
// with proxy_auth_hash_verifications_total), never caches a wrong password
// and is replaced by a reload.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { argon2id } from "hash-wasm";
import { SocksClient } from "socks";
import { curl } from "../helpers/curl.ts";
import { sample } from "../helpers/prometheus.ts";
import { type RawClient, rawConnect } from "../helpers/raw-client.ts";
import { type RunningProxy, sendSignal, startProxy } from "../helpers/proxy-process.ts";
import { type HttpTarget, startHttpTarget } from "../helpers/target.ts";

/**
 * argon2id with OWASP's minimum memory (m=19 MiB) and one pass (t=1): about
 * 35 ms on this 2-core machine, a real hash far above loopback noise for the
 * timing tests. (OWASP's t=2 doubles it: about 90 ms, and 10 s of CPU per
 * runtime over this file's 110 hashes, for the same comparison.)
 */
function realisticHash(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return argon2id({
    password,
    salt,
    parallelism: 1,
    iterations: 1,
    memorySize: 19456,
    hashLength: 32,
    outputType: "encoded",
  });
}

/** argon2id with a tiny cost, for the tests where time does not matter. */
function cheapHash(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return argon2id({
    password,
    salt,
    parallelism: 1,
    iterations: 1,
    memorySize: 256,
    hashLength: 32,
    outputType: "encoded",
  });
}

let target: HttpTarget;
let proxy: RunningProxy;

before(async () => {
  target = await startHttpTarget();
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    users: [{ username: "mta", password_hash: await realisticHash("right") }],
  });
  // Warm up: the first hash also starts a worker and compiles hash-wasm's WebAssembly.
  assert.equal((await login(proxy.ports[0], "mta", "warm-up")).status, 1);
  assert.equal((await login(proxy.ports[0], "mta", "warm-up-2")).status, 1);
});

after(async () => {
  await proxy?.stop();
  await target?.close();
});

const encode = (text: string) => new TextEncoder().encode(text);

/** One RFC 1929 login on a fresh connection: its STATUS and the ms from request to reply. */
async function login(port: number, username: string, password: string): Promise<{ status: number; ms: number }> {
  const client = await rawConnect(port);
  try {
    client.send([5, 1, 2]);
    assert.deepEqual([...await client.read(2)], [5, 2]);
    const u = encode(username);
    const p = encode(password);
    const started = performance.now();
    client.send([1, u.length, ...u, p.length, ...p]);
    const reply = await client.read(2, 20_000);
    return { status: reply[1], ms: performance.now() - started };
  } finally {
    client.close();
  }
}

/** The ms from sending a no-auth greeting to its method selection reply, on a connected client. */
async function greetingMs(client: RawClient): Promise<number> {
  const started = performance.now();
  client.send([5, 1, 0]);
  assert.deepEqual([...await client.read(2)], [5, 0]);
  return performance.now() - started;
}

/** The value of a proxy_auth_* counter now. */
async function counter(running: RunningProxy, name: string): Promise<number> {
  const r = await curl([`http://127.0.0.1:${running.httpPorts[0]}/metrics`]);
  assert.equal(r.code, 0, r.stderr);
  const value = sample(r.stdout, name, {});
  assert.notEqual(value, undefined, `${name} is exposed`);
  return value!;
}

/** A tunnel through the proxy with the `socks` client; resolves whether the login (and CONNECT) succeeded. */
async function socksTunnel(port: number, userId: string, password: string): Promise<boolean> {
  try {
    const { socket } = await SocksClient.createConnection({
      proxy: { host: "127.0.0.1", port, type: 5, userId, password },
      command: "connect",
      destination: { host: "127.0.0.1", port: target.port },
      timeout: 10_000,
    });
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Nearest-rank percentile. */
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.ceil((p / 100) * xs.length) - 1];

/**
 * Run a timing measurement up to `attempts` times until `measure` reports
 * `ok`; the details of every attempt go into the failure message. The test
 * machine is shared (two cores, both runtimes' suites at once, other work),
 * so one attempt can meet a burst of unrelated load. The regressions these
 * tests guard against are not near the bounds (a hash on the main thread
 * delays greetings by the hash time, 40 ms and more; an unknown user without
 * a dummy hash answers in 0.1 ms instead of tens of ms), so they fail every
 * attempt.
 */
async function timing(attempts: number, measure: () => Promise<{ ok: boolean; detail: string }>): Promise<void> {
  const details: string[] = [];
  for (let i = 0; i < attempts; i++) {
    const { ok, detail } = await measure();
    if (ok) return;
    details.push(detail);
  }
  assert.fail(`every attempt failed: ${details.join("; ")}`);
}

test("while one client sends 50 wrong passwords, another's greetings are answered in under 10 ms (p99)", async () => {
  const port = proxy.ports[0];
  await timing(3, async () => {
    const hashesBefore = await counter(proxy, "proxy_auth_hash_verifications_total");
    let guessing = true;
    const guesses: number[] = [];
    // One guess after another: the worker pool is busy the whole time, with
    // one core left for everything else on a two-core machine.
    const attacker = (async () => {
      for (let i = 0; i < 50; i++) guesses.push((await login(port, "mta", `guess-${i}`)).status);
      guessing = false;
    })();
    const greetings: number[] = [];
    let duringGuessing = 0;
    for (let i = 0; i < 50; i++) {
      const client = await rawConnect(port);
      try {
        greetings.push(await greetingMs(client));
        if (guessing) duringGuessing++;
      } finally {
        client.close();
      }
    }
    await attacker;
    assert.equal(guesses.length, 50);
    assert.ok(guesses.every((status) => status === 1), "every wrong password fails");
    assert.ok(duringGuessing >= 40, `the greetings overlapped the guessing (${duringGuessing} of 50 did)`);
    assert.equal(await counter(proxy, "proxy_auth_hash_verifications_total") - hashesBefore, 50);
    const p99 = percentile(greetings, 99);
    return { ok: p99 < 10, detail: `greeting p99 ${p99.toFixed(2)} ms (median ${median(greetings).toFixed(2)} ms)` };
  });
});

test("a wrong password takes as long for an unknown user as for an existing one (medians of 30 within 20%)", async () => {
  const port = proxy.ports[0];
  await timing(3, async () => {
    const known: number[] = [];
    const unknown: number[] = [];
    // Interleaved, in alternating order, so drift in the machine's load and
    // any effect of going first or second fall on both alike.
    for (let i = 0; i < 30; i++) {
      const existing = () => login(port, "mta", `wrong-${i}`);
      const nobody = () => login(port, `nobody-${i}`, `wrong-${i}`);
      const existingFirst = i % 2 === 0;
      const first = await (existingFirst ? existing() : nobody());
      const second = await (existingFirst ? nobody() : existing());
      const [a, b] = existingFirst ? [first, second] : [second, first];
      assert.deepEqual([a.status, b.status], [1, 1]);
      known.push(a.ms);
      unknown.push(b.ms);
    }
    const [k, u] = [median(known), median(unknown)];
    const spread = Math.abs(k - u) / Math.max(k, u);
    assert.ok(k > 5, `a wrong password costs a real hash (median ${k.toFixed(1)} ms)`);
    return {
      ok: spread <= 0.2,
      detail: `existing ${k.toFixed(1)} ms vs unknown ${u.toFixed(1)} ms: ${(spread * 100).toFixed(0)}% apart`,
    };
  });
});

test("the second successful login of a user within users_cache_ttl does no hash (curl and the socks client)", async () => {
  const port = proxy.ports[0];
  const hashes = await counter(proxy, "proxy_auth_hash_verifications_total");
  const hits = await counter(proxy, "proxy_auth_cache_hits_total");
  const first = await curl(["--socks5", `mta:right@127.0.0.1:${port}`, `http://127.0.0.1:${target.port}/`]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "hello from target\n");
  assert.equal(await counter(proxy, "proxy_auth_hash_verifications_total"), hashes + 1, "the first login hashes");
  const second = await curl(["--socks5", `mta:right@127.0.0.1:${port}`, `http://127.0.0.1:${target.port}/`]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(await socksTunnel(port, "mta", "right"), true);
  assert.equal(await counter(proxy, "proxy_auth_hash_verifications_total"), hashes + 1, "later logins do not");
  assert.equal(await counter(proxy, "proxy_auth_cache_hits_total"), hits + 2);
  assert.equal(await socksTunnel(port, "mta", "wrong"), false, "a cached login lets no wrong password through");
});

test("a wrong password never enters the cache, and a reload with a changed password empties it", async () => {
  const running = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", require_auth: true }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
    users: [{ username: "mta", password_hash: await cheapHash("old") }],
  });
  try {
    const port = running.ports[0];
    const hashes = () => counter(running, "proxy_auth_hash_verifications_total");
    assert.equal(await hashes(), 0);
    assert.equal(await socksTunnel(port, "mta", "wrong"), false);
    assert.equal(await socksTunnel(port, "mta", "wrong"), false);
    assert.equal(await hashes(), 2, "each wrong password is hashed");
    assert.equal(await socksTunnel(port, "mta", "old"), true);
    assert.equal(await hashes(), 3, "the right password after wrong ones still hashes once");
    assert.equal(await socksTunnel(port, "mta", "old"), true);
    assert.equal(await hashes(), 3, "and is then cached");

    writeFileSync(
      running.configFile,
      JSON.stringify({
        proxy_listeners: [{ listen: "127.0.0.1:0", require_auth: true }],
        http_listeners: [{ listen: "127.0.0.1:0" }],
        users: [{ username: "mta", password_hash: await cheapHash("new") }],
      }),
    );
    sendSignal(running.child, "SIGHUP");
    await running.waitForLog(/configuration reloaded/);
    // The HTTP listener was rebuilt on the reload: its new port is in the log.
    const httpPorts = [...running.log().matchAll(/http listener on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    const reloaded = { ...running, httpPorts: [httpPorts[httpPorts.length - 1]] };
    const before = await counter(reloaded, "proxy_auth_hash_verifications_total");
    assert.equal(await socksTunnel(port, "mta", "old"), false, "the old, cached password is refused after the reload");
    assert.equal(await socksTunnel(port, "mta", "new"), true);
    assert.equal(await counter(reloaded, "proxy_auth_hash_verifications_total"), before + 2);
  } finally {
    assert.equal(await running.stop(), 0);
  }
});
