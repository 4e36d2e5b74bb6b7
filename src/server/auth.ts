/**
 * RFC 1929 username/password verification against the configured `users`
 * (the declarative replacement of KumoProxy's `proxy_server_auth_rfc1929`
 * Lua callback). Passwords are compared in constant time and never logged.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { argon2Verify, bcryptVerify } from "hash-wasm";

/** One configured user: a literal (already resolved) password or a standard hash string. */
export interface UserEntry {
  /** RFC 1929 UNAME. */
  username: string;
  /** The password itself (resolved from a literal, `{env}` or `{file}`). */
  password?: string;
  /** An argon2id (`$argon2id$...`) or bcrypt (`$2a$`/`$2b$`/`$2y$`) hash. */
  password_hash?: string;
}

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Compare two strings in constant time with respect to their contents and lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

async function verifyHash(password: string, hash: string): Promise<boolean> {
  try {
    if (hash.startsWith("$argon2")) return await argon2Verify({ password, hash });
    if (/^\$2[aby]\$/.test(hash)) return await bcryptVerify({ password, hash });
  } catch {
    // A malformed hash verifies nothing.
  }
  return false;
}

/** The user table of a running server. */
export class UserStore {
  #users: Map<string, UserEntry>;

  /** @param users the configured `users` list (usernames unique). */
  constructor(users: readonly UserEntry[]) {
    this.#users = new Map(users.map((u) => [u.username, u]));
  }

  /** Number of configured users. */
  get size(): number {
    return this.#users.size;
  }

  /**
   * Check an RFC 1929 UNAME/PASSWD pair. An unknown user costs the same
   * comparison as a known one, so timing does not reveal which users exist.
   *
   * @returns `true` when the user exists and the password matches.
   */
  async verify(username: string, password: string): Promise<boolean> {
    const user = this.#users.get(username);
    if (user?.password_hash !== undefined) return await verifyHash(password, user.password_hash);
    const expected = user?.password ?? "\u0000no-such-user";
    const same = constantTimeEqual(password, expected);
    return user?.password !== undefined && same;
  }
}
