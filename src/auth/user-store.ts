/**
 * RFC 1929 username/password verification against the configured `users`
 * (the declarative replacement of KumoProxy's `proxy_server_auth_rfc1929`
 * Lua callback). Passwords are compared in constant time and never logged.
 *
 * Password hashes (argon2id, bcrypt) cost tens to hundreds of milliseconds
 * of CPU each, so:
 * - they are checked on a bounded worker pool ({@linkcode HashWorkerPool},
 *   shared by the whole process), never on the thread serving clients;
 * - at most {@linkcode MAX_VERIFICATIONS_PER_CLIENT} hashes per client address
 *   and the pool's `maxPending` overall are in flight; past either bound the
 *   login fails at once (the caller answers the RFC 1929 failure reply);
 * - a successful check is remembered for `users_cache_ttl`
 *   ({@linkcode DEFAULT_USERS_CACHE_TTL}), as an HMAC-SHA-256 of username
 *   and password under a per-process random key (never the password), so a
 *   client that logs in on every connection pays the hash once; a wrong
 *   password is never remembered, and a reload builds a new, empty cache;
 * - identical checks that arrive while one is running share its result, so
 *   a mail client opening many connections at once with the same
 *   credentials costs one hash;
 * - an unknown username is checked against a dummy hash of the configured
 *   cost ({@linkcode dummyHashFor}), so it takes as long as a wrong password
 *   for a user that exists. With only literal passwords configured, both
 *   cost one constant-time compare.
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { LRUCache } from "lru-cache";
import { dummyHashFor } from "./dummy-hash.ts";
import { HashWorkerPool } from "./pool.ts";

export { dummyHashFor } from "./dummy-hash.ts";
export { defaultPoolSize, HashWorkerPool, type HashWorkerPoolOptions } from "./pool.ts";

/** One configured user: a literal (already resolved) password or a standard hash string. */
export interface UserEntry {
  /** RFC 1929 UNAME. */
  username: string;
  /** The password itself (resolved from a literal, `{env}` or `{file}`). */
  password?: string;
  /** An argon2id (`$argon2id$...`) or bcrypt (`$2a$`/`$2b$`/`$2y$`) hash. */
  password_hash?: string;
}

/** Which bound refused a verification: the client address's or the process's. */
export type AuthLimit = "client" | "overall";

/** What the user store reports; the metrics module implements it. Members must not throw. */
export interface AuthObserver {
  /** A password hash was computed (a login not answered from the cache, dummy hashes included). */
  hashVerified(): void;
  /** A login was answered from the cache of successful verifications, without a hash. */
  cacheHit(): void;
  /** A login was refused without a hash because too many verifications were in flight. */
  refused(limit: AuthLimit): void;
}

/** An {@linkcode AuthObserver} that records nothing. */
export const NULL_AUTH_OBSERVER: AuthObserver = { hashVerified() {}, cacheHit() {}, refused() {} };

/** Default of `users_cache_ttl`, seconds: 5 minutes. */
export const DEFAULT_USERS_CACHE_TTL = 300;

/**
 * Hash verifications one client address may have in flight at once. Joining
 * an identical check already running is free and not counted, so a mail
 * client opening many connections with one set of credentials is not held
 * back by it; a client guessing passwords is.
 */
export const MAX_VERIFICATIONS_PER_CLIENT = 4;

/** Options of {@linkcode UserStore}; unset ones come from {@linkcode configureAuth}. */
export interface UserStoreOptions {
  /** How long a successful hash verification is remembered, seconds (`users_cache_ttl`); 0: not at all. */
  cacheTtl?: number;
  /** The pool that computes hashes; default the process's shared pool. */
  pool?: HashWorkerPool;
  /** Hash verifications in flight per client address; default {@linkcode MAX_VERIFICATIONS_PER_CLIENT}. */
  maxPerClient?: number;
  /** Receives verification events; default the one given to {@linkcode configureAuth}. */
  observer?: AuthObserver;
}

/** Process-wide settings for stores built without explicit options (see {@linkcode configureAuth}). */
const settings: { cacheTtl: number; observer: AuthObserver; pool?: HashWorkerPool } = {
  cacheTtl: DEFAULT_USERS_CACHE_TTL,
  observer: NULL_AUTH_OBSERVER,
};

/**
 * Set what {@linkcode UserStore}s built without explicit options use: the
 * cache time (`users_cache_ttl`, seconds; read when a store is built, so
 * call this before building the store of a new or reloaded config) and the
 * observer (read at every verification, so existing stores report to it too).
 *
 * @example
 * ```ts
 * configureAuth({ cacheTtl: config.users_cache_ttl, observer: new AuthMetricsObserver(metrics) });
 * ```
 */
export function configureAuth(options: { cacheTtl?: number; observer?: AuthObserver }): void {
  if (options.cacheTtl !== undefined) settings.cacheTtl = options.cacheTtl;
  if (options.observer !== undefined) settings.observer = options.observer;
}

/** The process's hash worker pool, created on first use (its workers start on the first hash). */
export function sharedHashPool(): HashWorkerPool {
  return settings.pool ??= new HashWorkerPool();
}

/**
 * End the shared pool's workers (for tests and embedders on Deno, where a
 * live worker keeps the process running); a later hash starts a new pool.
 */
export function closeSharedHashPool(): void {
  settings.pool?.close();
  settings.pool = undefined;
}

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Compare two strings in constant time with respect to their contents and lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The key of the cache's HMAC: random per process, never stored or logged. */
const CACHE_KEY = randomBytes(32);

/** HMAC-SHA-256 of a username and password (unambiguously joined), base64. */
function credentialDigest(username: string, password: string): string {
  return createHmac("sha256", CACHE_KEY).update(JSON.stringify([username, password]), "utf8").digest("base64");
}

/**
 * The user table of a running server; one per loaded config (a reload builds
 * a new one, with an empty cache).
 *
 * @example
 * ```ts
 * const users = new UserStore([{ username: "mta1", password_hash: "$argon2id$v=19$m=19456,t=2,p=1$..." }]);
 * await users.verify("mta1", "secret", "192.0.2.7"); // true or false
 * ```
 */
export class UserStore {
  #users: Map<string, UserEntry>;
  /** Random hash of the configured cost for unknown users; unset when no user has a hash. */
  #dummy: string | undefined;
  /** Credential digests of successful hash verifications (one per hashed user at most). */
  #cache: LRUCache<string, true> | undefined;
  /** Hash verifications running, by credential digest (identical checks share them). */
  #inFlight = new Map<string, Promise<boolean>>();
  /** Hash verifications running, by client address. */
  #perClient = new Map<string, number>();
  #pool: HashWorkerPool | undefined;
  #maxPerClient: number;
  #observer: AuthObserver | undefined;

  /**
   * @param users the configured `users` list (usernames unique).
   * @param options cache time, pool, bounds, observer (defaults: {@linkcode configureAuth}).
   */
  constructor(users: readonly UserEntry[], options: UserStoreOptions = {}) {
    this.#users = new Map(users.map((u) => [u.username, u]));
    const hashes = users.flatMap((u) => u.password_hash === undefined ? [] : [u.password_hash]);
    this.#dummy = dummyHashFor(hashes);
    const ttl = options.cacheTtl ?? settings.cacheTtl;
    if (hashes.length > 0 && ttl > 0) {
      // A user has one right password, so one entry per hashed user at most.
      this.#cache = new LRUCache<string, true>({ max: hashes.length, ttl: ttl * 1000 });
    }
    this.#pool = options.pool;
    this.#maxPerClient = options.maxPerClient ?? MAX_VERIFICATIONS_PER_CLIENT;
    this.#observer = options.observer;
  }

  /** Number of configured users. */
  get size(): number {
    return this.#users.size;
  }

  /**
   * Check an RFC 1929 UNAME/PASSWD pair. An unknown user costs the same as a
   * wrong password for a known one (a dummy hash when hashes are configured,
   * else a constant-time compare), so timing does not reveal which users
   * exist. Never rejects.
   *
   * @param client the client's IP address, for the per-client bound on hash
   *   verifications in flight; without it only the overall bound applies.
   * @returns `true` when the user exists and the password matches; `false`
   *   otherwise, and at once when too many hash verifications are in flight.
   */
  verify(username: string, password: string, client?: string): Promise<boolean> {
    const user = this.#users.get(username);
    if (user?.password !== undefined) return Promise.resolve(constantTimeEqual(password, user.password));
    if (user === undefined && this.#dummy === undefined) {
      constantTimeEqual(password, "\u0000no-such-user");
      return Promise.resolve(false);
    }
    const hash = user?.password_hash ?? this.#dummy!;
    const key = credentialDigest(username, password);
    const observer = this.#observer ?? settings.observer;
    if (this.#cache?.get(key) === true) {
      observer.cacheHit();
      return Promise.resolve(true);
    }
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    if (client !== undefined && (this.#perClient.get(client) ?? 0) >= this.#maxPerClient) {
      observer.refused("client");
      return Promise.resolve(false);
    }
    const work = (this.#pool ?? sharedHashPool()).verify(password, hash);
    if (work === undefined) {
      observer.refused("overall");
      return Promise.resolve(false);
    }
    if (client !== undefined) this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1);
    const result = work.then((ok) => {
      observer.hashVerified();
      const matched = user !== undefined && ok;
      if (matched) this.#cache?.set(key, true);
      return matched;
    }).finally(() => {
      this.#inFlight.delete(key);
      if (client === undefined) return;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(client, left);
      else this.#perClient.delete(client);
    });
    this.#inFlight.set(key, result);
    return result;
  }
}
