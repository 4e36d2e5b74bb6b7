/**
 * Credentials: RFC 1929 username/password checks against the configured
 * users (the declarative replacement of KumoProxy's
 * `proxy_server_auth_rfc1929` callback), used by the SOCKS5 session and by
 * the HTTP admin API's Basic accounts alike. Literal passwords are compared
 * in constant time; argon2id and bcrypt hashes are checked on a small pool
 * of worker threads, with bounded checks in flight, a dummy hash of the same
 * cost for unknown users, and successes cached (`users_cache_ttl`).
 *
 * @example
 * ```ts
 * import { UserStore } from "./auth/index.ts";
 * const users = new UserStore([{ username: "alice", password: "wonderland" }]);
 * await users.verify("alice", "wonderland", "127.0.0.1"); // true
 * ```
 *
 * @module
 */
export * from "./user-store.ts";
