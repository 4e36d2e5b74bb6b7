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
 * `bun build --compile` must be given this file as an extra entry point
 * (see `scripts/build`) so that the single executable contains it.
 *
 * @module
 */
import type { HashRequest, HashResponse } from "./protocol.ts";
import { verifyHash } from "./verify-hash.ts";

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
