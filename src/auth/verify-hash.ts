/**
 * Checking a password against an argon2id or bcrypt hash with hash-wasm, on
 * the calling thread: what each worker of {@linkcode HashWorkerPool} runs.
 *
 * @module
 */
import { argon2Verify, bcryptVerify } from "hash-wasm";

/**
 * Whether `password` matches `hash` (argon2id in PHC form, or bcrypt
 * `$2a$`/`$2b$`/`$2y$`); `false` for anything else or on any error. It
 * blocks the thread it runs on for the whole hash (hash-wasm computes
 * synchronously inside its `async` functions).
 *
 * @example
 * ```ts
 * await verifyHash("secret", "$2b$04$..."); // true or false
 * ```
 */
export async function verifyHash(password: string, hash: string): Promise<boolean> {
  try {
    if (hash.startsWith("$argon2")) return await argon2Verify({ password, hash });
    if (/^\$2[aby]\$/.test(hash)) return await bcryptVerify({ password, hash });
  } catch {
    // A malformed hash verifies nothing.
  }
  return false;
}
