/**
 * Worker entry of the password-hash pool ({@linkcode HashWorkerPool}): each
 * message `{ id, password, hash }` is answered `{ id, ok }`, where `ok` says
 * whether `password` matches the argon2id or bcrypt `hash`. hash-wasm's
 * functions are `async` but compute on the calling thread, which is why they
 * run here and not on the thread that serves SOCKS5 clients.
 *
 * A malformed hash, or any error, answers `ok: false`; the worker never
 * throws, so one bad hash cannot take the pool down.
 *
 * On Linux the worker lowers its own thread's scheduling priority to nice
 * {@linkcode WORKER_NICE} (Linux nice values are per thread), so when the
 * CPU is contended the thread that serves clients and relays bytes wins over
 * hashing: logins get slower, tunnels do not. Elsewhere (macOS applies
 * `setpriority` to the whole process) it leaves the priority alone.
 *
 * `bun build --compile` must be given this file as an extra entry point
 * (see `scripts/build`) so that the single executable contains it.
 *
 * @module
 */
import { setPriority } from "node:os";
import process from "node:process";
import type { HashRequest, HashResponse } from "./protocol.ts";
import { verifyHash } from "./verify-hash.ts";

/** The nice value of a hash worker's thread on Linux (0 is normal, 19 the lowest priority). */
const WORKER_NICE = 10;

if (process.platform === "linux") {
  try {
    // pid 0: on Linux, the calling thread only.
    setPriority(0, WORKER_NICE);
  } catch {
    // Not permitted or not supported: hash at normal priority.
  }
}

/** The worker global scope, typed just enough (the project's `lib` is the window's). */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<HashRequest>) => void) | null;
  postMessage(message: HashResponse): void;
};

scope.onmessage = (event) => {
  const { id, password, hash } = event.data;
  verifyHash(password, hash).then(
    (ok) => scope.postMessage({ id, ok }),
    () => scope.postMessage({ id, ok: false }),
  );
};
