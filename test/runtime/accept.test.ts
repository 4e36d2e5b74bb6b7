// Runtime adapter: accept errors. Connections reset before they are
// accepted must not hold the listener up (issue 16 point 1), and the Deno
// accept loop backs off only on errors of the listener itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { type Conn, getRuntime, NetError } from "../../src/runtime/index.ts";
import {
  ACCEPT_BACKOFF_MAX_MS,
  ACCEPT_BACKOFF_MIN_MS,
  acceptErrorKind,
  acceptLoop,
} from "../../src/runtime/deno/accept.ts";
import { deadline, dec, enc, readExactly } from "./helpers.ts";

const rt = getRuntime();

/**
 * A node:net client, run as a separate process, that opens `count`
 * connections to `port` and resets each (SO_LINGER 0) as soon as it is
 * connected. The test's process is blocked in execFileSync meanwhile, so its
 * listener cannot accept any of them: every reset happens before accept.
 */
function resetBeforeAccept(port: number, count: number): string {
  const script = `
    const net = require("node:net");
    let left = ${count};
    for (let i = 0; i < ${count}; i++) {
      const s = net.connect(${port}, "127.0.0.1", () => {
        s.resetAndDestroy();
        if (--left === 0) process.stdout.write("reset " + ${count});
      });
      s.on("error", (e) => { console.error(e); process.exit(1); });
    }`;
  return execFileSync("node", ["-e", script], { encoding: "utf8", timeout: 30_000 });
}

test("400 connections reset before accept, then a normal client is served in under 100 ms", async () => {
  const codes: string[] = [];
  const conns: Conn[] = [];
  const l = await rt.listen({ host: "127.0.0.1", port: 0, onAcceptError: (code) => codes.push(code) }, async (c) => {
    conns.push(c);
    try {
      const d = await c.read();
      if (d) await c.write(d);
    } catch {
      // A reset connection (Bun hands those over): nothing to answer.
    } finally {
      c.close();
    }
  });
  try {
    // The listen backlog (511 on Deno, 512 on Bun) holds all 400.
    assert.equal(resetBeforeAccept(l.addr.port, 400), "reset 400");
    const start = performance.now();
    const c = await rt.connect({ host: "127.0.0.1", port: l.addr.port });
    try {
      await c.write(enc("ping"));
      assert.equal(dec(await deadline(readExactly(c, 4), 30_000, "echo")), "ping");
      const ms = performance.now() - start;
      assert.ok(ms < 100, `served after ${ms.toFixed(1)} ms behind 400 resets`);
    } finally {
      c.close();
    }
    if (rt.name === "deno") {
      // Deno's accept reads the peer address, which a reset socket no longer has.
      assert.equal(codes.length, 400, "each reset connection was one accept error");
      assert.ok(codes.every((code) => code === "ENOTCONN"), `codes: ${[...new Set(codes)].join(", ")}`);
    } else {
      // Bun accepts them as connections that are already closed; it reports no accept error.
      assert.deepEqual(codes, []);
      assert.ok(conns.length >= 401, `${conns.length} connections reached onConn`);
    }
  } finally {
    await l.close();
  }
});

test("accept errors: per-connection codes are skipped at once, listener codes back off", () => {
  for (const code of ["ENOTCONN", "ECONNABORTED", "ECONNRESET", "EPROTO"]) {
    assert.equal(acceptErrorKind(code), "connection", code);
  }
  for (const code of ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EUNKNOWN"]) {
    assert.equal(acceptErrorKind(code), "listener", code);
  }
});

/**
 * Drive {@linkcode acceptLoop} with a scripted accept: each entry is a
 * connection (a string) or an error code; after the script the listener
 * closes. Returns the conns handed over, the codes reported and the pauses
 * the loop asked for (the delay is recorded, not slept).
 */
async function runScript(script: string[]): Promise<{ conns: string[]; codes: string[]; pauses: number[] }> {
  const conns: string[] = [];
  const codes: string[] = [];
  const pauses: number[] = [];
  let i = 0;
  let closed = false;
  await acceptLoop(
    () => {
      if (i >= script.length) {
        closed = true;
        return Promise.reject(new NetError("EBADF", "listener closed"));
      }
      const step = script[i++];
      return step.startsWith("E") ? Promise.reject(new NetError(step, step)) : Promise.resolve(step);
    },
    (c) => conns.push(c),
    {
      isClosed: () => closed,
      onAcceptError: (code) => codes.push(code),
      delay: (ms) => {
        pauses.push(ms);
        return Promise.resolve();
      },
    },
  );
  return { conns, codes, pauses };
}

test("accept loop: resets between connections cost no pause; every code is reported", async () => {
  const r = await runScript(["a", "ENOTCONN", "ECONNABORTED", "b", "ECONNRESET", "c"]);
  assert.deepEqual(r.conns, ["a", "b", "c"]);
  assert.deepEqual(r.codes, ["ENOTCONN", "ECONNABORTED", "ECONNRESET"]);
  assert.deepEqual(r.pauses, []);
});

test("accept loop: EMFILE backs off 10 ms doubling to 1 s, and a connection resets the backoff", async () => {
  const r = await runScript([...Array(9).fill("EMFILE"), "a", "ENFILE", "b"]);
  assert.deepEqual(r.pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 10]);
  assert.equal(r.pauses[0], ACCEPT_BACKOFF_MIN_MS);
  assert.equal(Math.max(...r.pauses), ACCEPT_BACKOFF_MAX_MS);
  assert.deepEqual(r.conns, ["a", "b"]);
  assert.equal(r.codes.length, 10);
});

test("accept loop: a throwing onAcceptError does not stop the listener; closing during a pause ends it", async () => {
  let closed = false;
  const conns: string[] = [];
  const script = ["ENOTCONN", "a", "EMFILE", "never"];
  let i = 0;
  await acceptLoop(
    () => {
      const step = script[i++];
      return step.startsWith("E") ? Promise.reject(new NetError(step, step)) : Promise.resolve(step);
    },
    (c) => conns.push(c),
    {
      isClosed: () => closed,
      onAcceptError: () => {
        throw new Error("a bug in the callback");
      },
      delay: () => {
        closed = true;
        return Promise.resolve();
      },
    },
  );
  assert.deepEqual(conns, ["a"], "the loop ended in the pause, before accepting again");
});

test("accept loop: at EMFILE with a reserve descriptor, the waiting connection is accepted and closed, no pause", async () => {
  // The kernel's view: accept fails with EMFILE while every descriptor is used;
  // with the reserve released one slot is free and the next accept succeeds.
  let free = 0;
  const queue = ["a", "b"];
  const refused: string[] = [];
  const pauses: number[] = [];
  const codes: string[] = [];
  let held = true;
  let closed = false;
  await acceptLoop<string>(
    () => {
      if (queue.length === 0) {
        closed = true;
        return Promise.reject(new NetError("EBADF", "listener closed"));
      }
      if (free === 0) return Promise.reject(new NetError("EMFILE", "Too many open files"));
      free--;
      return Promise.resolve(queue.shift()!);
    },
    () => assert.fail("no connection is served while out of descriptors"),
    {
      isClosed: () => closed,
      onAcceptError: (code) => codes.push(code),
      delay: (ms) => {
        pauses.push(ms);
        return Promise.resolve();
      },
      reserve: {
        release: () => held ? (held = false, free++, true) : false,
        restore: () => {
          if (!held && free > 0) (held = true, free--);
        },
      },
      refuse: (c) => {
        refused.push(c);
        free++; // closing it gives its slot back, which the reserve takes again
      },
    },
  );
  assert.deepEqual(refused, ["a", "b"], "each waiting client gets a close");
  assert.deepEqual(codes, ["EMFILE", "EMFILE"]);
  assert.deepEqual(pauses, [], "no pause while the reserve clears the queue");
  assert.equal(held, true, "the reserve is held again");
});
