/**
 * The state behind limits: live connection counts and connection-rate
 * buckets, behind two small interfaces so the in-memory implementations
 * here can be swapped for shared ones (Redis, issue 15) without touching
 * callers. A store outlives compiled policies: a reload compiles a new
 * policy over the same store, so live sessions stay counted and release
 * into the same counters.
 *
 * Both interfaces are synchronous on purpose: in one JavaScript event loop,
 * a check and its increment with no `await` between them cannot interleave
 * with another connection's, so counts are exact.
 *
 * @module
 */

/**
 * Counts of live things (connections) per key, with a limit checked and
 * applied in one step.
 */
export interface ConnectionCounts {
  /**
   * Count one more under `key` if fewer than `limit` are counted; `limit`
   * is `Infinity` when nothing is configured (the count is still kept, so
   * a limit added by a reload sees the sessions already open).
   *
   * @returns whether it was counted
   */
  acquire(key: string, limit: number): boolean;
  /** Count one fewer under `key` (never below 0). Pair with a successful {@linkcode acquire}. */
  release(key: string): void;
  /** How many are counted under `key` now (0 for an unknown key). */
  count(key: string): number;
}

/**
 * Rate limits per key: `limit` events per `periodSeconds`, with bursts of
 * up to `limit` at once (a GCRA, equivalent to a token bucket of `limit`
 * tokens refilled at `limit / periodSeconds` per second).
 */
export interface RateLimiter {
  /**
   * Take one event for `key` at time `nowMs` (milliseconds, any clock, but
   * the same clock for every call).
   *
   * @returns whether it is within the rate (a refused event is not counted)
   */
  take(key: string, limit: number, periodSeconds: number, nowMs: number): boolean;
}

/** A cluster-wide lease (a member of a Redis sorted set); give it back once when the session ends. */
export interface SharedLease {
  /** Give it back (idempotent; in the background). */
  release(): void;
}

/** One connection count of {@linkcode SharedLimits.acquire}. */
export interface SharedCount {
  /** The counter key, as the local one (`listener <listen>`, `client <listen> <ip>`, `user <name>`). */
  readonly key: string;
  /** Most leases held under it at once, across instances. */
  readonly limit: number;
  /** Keys acquired together share it: the listener text for listener and client keys, the key itself for a user. */
  readonly group: string;
}

/**
 * Limits shared by every instance (`cluster`, implemented on Redis in
 * `src/cluster/`): asynchronous, unlike {@linkcode ConnectionCounts} and
 * {@linkcode RateLimiter}, and consulted after them, for limits that are
 * configured only. Each answer is `undefined` when the shared store cannot
 * answer in time: the local decision then stands (per-instance limits).
 */
export interface SharedLimits {
  /**
   * Take one lease under every key of `counts` if each has fewer than its
   * `limit` held across every instance, all or none, atomically (never one
   * more, whatever runs in parallel). Keys of one call share a `group`
   * (a Redis Cluster hash tag: one slot, one round trip).
   *
   * @returns the lease (of every key); the index in `counts` of the first
   * key at its limit; `undefined` when the store is unavailable
   */
  acquire(counts: readonly SharedCount[]): Promise<SharedLease | number | undefined>;
  /**
   * Take one event from the cluster-wide GCRA of `key`: `limit` per
   * `periodSeconds`, bursts of up to `limit`.
   *
   * @returns whether it is within the rate; `undefined` when the store is unavailable
   */
  take(key: string, limit: number, periodSeconds: number): Promise<boolean | undefined>;
}

/** Where a policy keeps its counts and rate state. */
export interface AccessStore {
  /** Live sessions per listener, per client on a listener, per user. */
  readonly counts: ConnectionCounts;
  /** Connection-rate state per client on a listener. */
  readonly rates: RateLimiter;
  /** Cluster-wide limits (`cluster`); absent: the limits are this instance's alone. */
  readonly shared?: SharedLimits;
}

/**
 * {@linkcode ConnectionCounts} in a `Map`; a key whose count drops to 0 is
 * deleted, so the map holds only keys with live sessions.
 *
 * @example
 * ```ts
 * const counts = new MemoryConnectionCounts();
 * counts.acquire("user bob", 1); // true
 * counts.acquire("user bob", 1); // false
 * counts.release("user bob");
 * counts.size; // 0
 * ```
 */
export class MemoryConnectionCounts implements ConnectionCounts {
  readonly #counts = new Map<string, number>();

  /** See {@linkcode ConnectionCounts.acquire}. */
  acquire(key: string, limit: number): boolean {
    const n = this.#counts.get(key) ?? 0;
    if (n >= limit) return false;
    this.#counts.set(key, n + 1);
    return true;
  }

  /** See {@linkcode ConnectionCounts.release}. */
  release(key: string): void {
    const n = this.#counts.get(key);
    if (n === undefined) return;
    if (n <= 1) this.#counts.delete(key);
    else this.#counts.set(key, n - 1);
  }

  /** See {@linkcode ConnectionCounts.count}. */
  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** How many keys have live counts. */
  get size(): number {
    return this.#counts.size;
  }
}

/** Options of {@linkcode MemoryRateLimiter}. */
export interface MemoryRateLimiterOptions {
  /**
   * Most keys kept (default 100000). Past it the oldest-updated key is
   * forgotten: that client gets a fresh bucket, so memory stays bounded
   * under a flood of distinct addresses at the cost of forgiving some.
   */
  maxKeys?: number;
  /** How often, at most, keys whose bucket is full again are swept, in ms (default 1000). */
  sweepIntervalMs?: number;
}

/**
 * {@linkcode RateLimiter} in a `Map` of GCRA "theoretical arrival times".
 * Each accepted event moves the key's time on by `period / limit`; an
 * event is refused when that would put it more than `period` ahead of now.
 * Keys whose time is in the past (bucket full again) carry no information
 * and are swept.
 *
 * @example
 * ```ts
 * const rates = new MemoryRateLimiter();
 * for (let i = 0; i < 10; i++) rates.take("k", 10, 1, 0); // true x10
 * rates.take("k", 10, 1, 0); // false
 * rates.take("k", 10, 1, 1000); // true
 * ```
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #tat = new Map<string, number>();
  readonly #maxKeys: number;
  readonly #sweepIntervalMs: number;
  #nextSweep = -Infinity;

  /** @param options see {@linkcode MemoryRateLimiterOptions} */
  constructor(options: MemoryRateLimiterOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 1000;
  }

  /** See {@linkcode RateLimiter.take}. */
  take(key: string, limit: number, periodSeconds: number, nowMs: number): boolean {
    if (nowMs >= this.#nextSweep) this.sweep(nowMs);
    const periodMs = periodSeconds * 1000;
    const interval = periodMs / limit;
    const stored = this.#tat.get(key);
    const tat = stored === undefined || stored < nowMs ? nowMs : stored;
    const next = tat + interval;
    // The tolerance absorbs rounding in interval sums (ten 0.1 s steps).
    if (next - nowMs > periodMs * (1 + 1e-9)) return false;
    if (stored !== undefined) this.#tat.delete(key); // re-insert: Map order is update order
    else if (this.#tat.size >= this.#maxKeys) this.#tat.delete(this.#tat.keys().next().value!);
    this.#tat.set(key, next);
    return true;
  }

  /** Forget every key whose bucket is full again at `nowMs`. */
  sweep(nowMs: number): void {
    this.#nextSweep = nowMs + this.#sweepIntervalMs;
    for (const [key, tat] of this.#tat) if (tat <= nowMs) this.#tat.delete(key);
  }

  /** How many keys hold state. */
  get size(): number {
    return this.#tat.size;
  }
}

/**
 * A fresh in-memory {@linkcode AccessStore} (the default when no `cluster`
 * store is configured). Keep it across reloads.
 *
 * @param options for the rate limiter
 * @param shared cluster-wide limits consulted after the local ones (`cluster`); default none
 */
export function createMemoryAccessStore(
  options: MemoryRateLimiterOptions = {},
  shared?: SharedLimits,
): AccessStore {
  const store = { counts: new MemoryConnectionCounts(), rates: new MemoryRateLimiter(options) };
  return shared === undefined ? store : { ...store, shared };
}
