/**
 * The messages between {@linkcode HashWorkerPool} and its workers
 * (`hash-worker.ts`).
 *
 * @module
 */

/** Main thread to worker: check `password` against `hash`. */
export interface HashRequest {
  /** Correlates the answer with the request. */
  id: number;
  /** The RFC 1929 PASSWD to check. */
  password: string;
  /** An argon2id (PHC string) or bcrypt hash. */
  hash: string;
}

/** Worker to main thread: the answer to the request with the same `id`. */
export interface HashResponse {
  /** The request's `id`. */
  id: number;
  /** `true` when the password matches the hash. */
  ok: boolean;
}
