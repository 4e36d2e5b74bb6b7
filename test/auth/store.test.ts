// UserStore and the hash worker pool, in process: real workers computing
// real argon2id and bcrypt hashes (cheap parameters: these tests are about
// outcomes and counts, not time), and a scripted worker where a test needs
// to hold verifications in flight.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { argon2id, bcrypt } from "hash-wasm";
import { type AuthLimit, type AuthObserver, dummyHashFor, HashWorkerPool, UserStore } from "../../src/auth/index.ts";
import { compiledWorkerUrl, type HashWorker } from "../../src/auth/pool.ts";
import type { HashRequest, HashResponse } from "../../src/auth/protocol.ts";
import { verifyHash } from "../../src/auth/verify-hash.ts";

const salt = new Uint8Array(16).map((_, i) => i * 7);

/** An argon2id hash with small cost (m=256 KiB, t=1). */
function cheapArgon(password: string): Promise<string> {
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

/** A bcrypt hash of cost 4, as `$2b$`. */
async function cheapBcrypt(password: string): Promise<string> {
  return (await bcrypt({ password, salt, costFactor: 4, outputType: "encoded" })).replace(/^\$2a\$/, "$2b$");
}

/** An observer that counts. */
function counting() {
  const counts = { hashes: 0, hits: 0, refused: [] as AuthLimit[] };
  const observer: AuthObserver = {
    hashVerified: () => void counts.hashes++,
    cacheHit: () => void counts.hits++,
    refused: (limit) => void counts.refused.push(limit),
  };
  return { counts, observer };
}

const pools: HashWorkerPool[] = [];
/** A real pool, closed after the tests. */
function newPool(options: ConstructorParameters<typeof HashWorkerPool>[0] = {}): HashWorkerPool {
  const pool = new HashWorkerPool({ size: 1, ...options });
  pools.push(pool);
  return pool;
}
/** One real worker for the tests that do not look at the pool itself (starting one costs time). */
const shared = newPool();
const realPool = () => shared;
after(() => pools.forEach((p) => p.close()));

/**
 * A worker whose answers the test releases: `verify` runs for real when
 * `release()` is called (all held requests answer), so verifications stay in
 * flight as long as the test needs.
 */
function scriptedWorkers() {
  const held: Array<{ worker: HashWorker; request: HashRequest }> = [];
  let spawned = 0;
  const spawn = (): HashWorker => {
    spawned++;
    const worker: HashWorker = {
      onmessage: null,
      onerror: null,
      postMessage(request) {
        held.push({ worker, request });
      },
      terminate() {},
    };
    return worker;
  };
  const release = async () => {
    for (const { worker, request } of held.splice(0)) {
      const ok = await verifyHash(request.password, request.hash);
      worker.onmessage?.({ data: { id: request.id, ok } satisfies HashResponse } as MessageEvent<HashResponse>);
    }
  };
  return { spawn, release, held, spawned: () => spawned };
}

test("argon2id, bcrypt and literal users: the right password passes, a wrong one and an unknown user fail", async () => {
  const users = new UserStore([
    { username: "argon", password_hash: await cheapArgon("a-secret") },
    { username: "bcrypt", password_hash: await cheapBcrypt("b-secret") },
    { username: "literal", password: "l-secret" },
  ], { pool: realPool(), cacheTtl: 0 });
  assert.equal(users.size, 3);
  assert.equal(await users.verify("argon", "a-secret"), true);
  assert.equal(await users.verify("argon", "b-secret"), false);
  assert.equal(await users.verify("bcrypt", "b-secret"), true);
  assert.equal(await users.verify("bcrypt", "a-secret"), false);
  assert.equal(await users.verify("literal", "l-secret"), true);
  assert.equal(await users.verify("literal", "a-secret"), false);
  assert.equal(await users.verify("nobody", "a-secret"), false);
  assert.equal(await users.verify("nobody", ""), false);
});

test("the second successful login within the cache time does no hash; a wrong password is never cached", async () => {
  const { counts, observer } = counting();
  const users = new UserStore([{ username: "mta", password_hash: await cheapArgon("right") }], {
    pool: realPool(),
    cacheTtl: 300,
    observer,
  });
  assert.equal(await users.verify("mta", "wrong"), false);
  assert.equal(await users.verify("mta", "wrong"), false);
  assert.equal(counts.hashes, 2, "each wrong password is hashed: it never enters the cache");
  assert.equal(await users.verify("mta", "right"), true);
  assert.equal(counts.hashes, 3, "the first right password after wrong ones is hashed");
  for (let i = 0; i < 5; i++) assert.equal(await users.verify("mta", "right"), true);
  assert.equal(counts.hashes, 3, "later logins within the cache time are not hashed");
  assert.equal(counts.hits, 5);
  assert.equal(await users.verify("mta", "wrong"), false, "a cached right password does not let a wrong one through");
  assert.equal(counts.hashes, 4);
});

test("a cache entry ends after users_cache_ttl; cacheTtl 0 hashes every login", async () => {
  const hash = await cheapArgon("right");
  const short = counting();
  const users = new UserStore([{ username: "mta", password_hash: hash }], {
    pool: realPool(),
    cacheTtl: 0.05,
    observer: short.observer,
  });
  assert.equal(await users.verify("mta", "right"), true);
  assert.equal(await users.verify("mta", "right"), true);
  assert.equal(short.counts.hashes, 1);
  // Waiting out the 50 ms TTL is the behaviour under test, not synchronisation.
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(await users.verify("mta", "right"), true);
  assert.equal(short.counts.hashes, 2, "an expired entry is hashed again");

  const off = counting();
  const uncached = new UserStore([{ username: "mta", password_hash: hash }], {
    pool: realPool(),
    cacheTtl: 0,
    observer: off.observer,
  });
  for (let i = 0; i < 3; i++) assert.equal(await uncached.verify("mta", "right"), true);
  assert.equal(off.counts.hashes, 3);
  assert.equal(off.counts.hits, 0);
});

test("a new store (a reload) starts with an empty cache: a changed password takes effect at once", async () => {
  const { counts, observer } = counting();
  const pool = realPool();
  const before = new UserStore([{ username: "mta", password_hash: await cheapArgon("old") }], { pool, observer });
  assert.equal(await before.verify("mta", "old"), true);
  assert.equal(await before.verify("mta", "old"), true);
  const reloaded = new UserStore([{ username: "mta", password_hash: await cheapArgon("new") }], { pool, observer });
  assert.equal(await reloaded.verify("mta", "old"), false);
  assert.equal(await reloaded.verify("mta", "new"), true);
  assert.equal(counts.hashes, 3);
});

test("an unknown user costs one hash when hashed users exist, and none when all passwords are literal", async () => {
  const hashed = counting();
  const withHashes = new UserStore(
    [{ username: "mta", password_hash: await cheapBcrypt("right") }, { username: "lit", password: "x" }],
    { pool: realPool(), observer: hashed.observer },
  );
  assert.equal(await withHashes.verify("nobody", "right"), false);
  assert.equal(await withHashes.verify("nobody", "right"), false, "an unknown user is never cached");
  assert.equal(hashed.counts.hashes, 2);

  const literal = counting();
  const literalOnly = new UserStore([{ username: "lit", password: "x" }], {
    pool: realPool(),
    observer: literal.observer,
  });
  assert.equal(await literalOnly.verify("nobody", "x"), false);
  assert.equal(await literalOnly.verify("lit", "x"), true);
  assert.equal(literal.counts.hashes, 0);
});

test("the dummy hash has the shape most configured hashes share, random salt and digest, and matches nothing", async () => {
  const a = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
  const b = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
  const c = "$2b$12$" + "a".repeat(53);
  const dummy = dummyHashFor([b, a, c, a])!;
  assert.match(dummy, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.notEqual(dummy, dummyHashFor([a])!, "salt and digest are random");
  assert.match(dummyHashFor([c])!, /^\$2b\$12\$[./A-Za-z0-9]{53}$/);
  assert.equal(dummyHashFor([]), undefined);
  const real = await cheapArgon("pw");
  const cheapDummy = dummyHashFor([real])!;
  assert.equal(await verifyHash("pw", real), true);
  assert.equal(await verifyHash("pw", cheapDummy), false);
  const bcryptDummy = dummyHashFor([await cheapBcrypt("pw")])!;
  assert.equal(await verifyHash("pw", bcryptDummy), false);
});

test("identical logins in flight share one hash", async () => {
  const { counts, observer } = counting();
  const users = new UserStore([{ username: "mta", password_hash: await cheapArgon("right") }], {
    pool: realPool(),
    cacheTtl: 0,
    observer,
  });
  const results = await Promise.all(Array.from({ length: 8 }, () => users.verify("mta", "right", "192.0.2.1")));
  assert.deepEqual(results, Array(8).fill(true));
  assert.equal(counts.hashes, 1);
});

test("past the per-client bound a login fails at once; other clients still get theirs checked", async () => {
  const scripted = scriptedWorkers();
  const { counts, observer } = counting();
  const pool = new HashWorkerPool({ size: 1, maxPending: 100, spawn: scripted.spawn });
  const users = new UserStore([{ username: "mta", password_hash: await cheapArgon("right") }], {
    pool,
    observer,
    maxPerClient: 4,
  });
  const guesses = Array.from({ length: 4 }, (_, i) => users.verify("mta", `guess-${i}`, "198.51.100.9"));
  assert.equal(await users.verify("mta", "guess-5", "198.51.100.9"), false, "the fifth guess fails without waiting");
  assert.deepEqual(counts.refused, ["client"]);
  const other = users.verify("mta", "right", "192.0.2.1");
  assert.equal(pool.pending, 5, "the other client's login is queued");
  // One worker: the first request is posted, the rest wait in the pool's queue.
  for (let i = 0; i < 5 && scripted.held.length > 0; i++) await scripted.release();
  assert.deepEqual(await Promise.all(guesses), [false, false, false, false]);
  assert.equal(await other, true);
  assert.equal(counts.hashes, 5);
  const again = users.verify("mta", "guess-again", "198.51.100.9");
  assert.equal(pool.pending, 1, "the client's slots are free again: the next guess is checked");
  await scripted.release();
  assert.equal(await again, false);
  assert.equal(counts.refused.length, 1);
  pool.close();
});

test("past the pool's overall bound a login fails at once", async () => {
  const scripted = scriptedWorkers();
  const { counts, observer } = counting();
  const pool = new HashWorkerPool({ size: 1, maxPending: 2, spawn: scripted.spawn });
  const users = new UserStore([{ username: "mta", password_hash: await cheapArgon("right") }], { pool, observer });
  const first = users.verify("mta", "one", "192.0.2.1");
  const second = users.verify("mta", "two", "192.0.2.2");
  assert.equal(await users.verify("mta", "right", "192.0.2.3"), false);
  assert.deepEqual(counts.refused, ["overall"]);
  for (let i = 0; i < 3 && scripted.held.length > 0; i++) await scripted.release();
  assert.deepEqual(await Promise.all([first, second]), [false, false]);
  assert.equal(scripted.spawned(), 1, "one worker, as sized");
  pool.close();
});

test("a worker that fails answers false for its login and is replaced", async () => {
  let spawned = 0;
  const real = realPool();
  const spawn = (): HashWorker => {
    spawned++;
    const worker: HashWorker = {
      onmessage: null,
      onerror: null,
      postMessage(request) {
        if (spawned === 1) {
          queueMicrotask(() => worker.onerror?.({ message: "boom", preventDefault() {} } as ErrorEvent));
          return;
        }
        // Later workers forward to a real one.
        real.verify(request.password, request.hash)!.then((ok) =>
          worker.onmessage?.({ data: { id: request.id, ok } } as MessageEvent<HashResponse>)
        );
      },
      terminate() {},
    };
    return worker;
  };
  const pool = new HashWorkerPool({ size: 1, spawn });
  const users = new UserStore([{ username: "mta", password_hash: await cheapArgon("right") }], { pool, cacheTtl: 0 });
  assert.equal(await users.verify("mta", "right"), false, "a failed worker never lets a login through");
  assert.equal(await users.verify("mta", "right"), true);
  assert.equal(spawned, 2);
  pool.close();
});

test("the pool starts at most `size` workers and ends them when idle", async () => {
  const pool = newPool({ size: 2, idleMs: 50 });
  const hash = await cheapArgon("pw");
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.verify(i % 2 ? "pw" : "no", hash)));
  assert.deepEqual(results, [false, true, false, true, false, true]);
  assert.equal(pool.workers, 2);
  // Bounded wait for the idle timer (50 ms) to end them.
  for (let i = 0; i < 100 && pool.workers > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(pool.workers, 0);
  assert.equal(await pool.verify("pw", hash), true, "the next request starts a worker again");
});

test("from source the worker is found next to the pool, not in a compiled executable's file system", () => {
  assert.equal(compiledWorkerUrl(), undefined);
  assert.equal(compiledWorkerUrl("file:///$bunfs/root/proxy-server"), undefined, "no such embedded file here");
});
