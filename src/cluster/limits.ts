/**
 * Cluster-wide connection limits and connection rates on Redis, the way
 * KumoMTA's `kumo.configure_redis_throttles` shares its own: the
 * {@linkcode SharedLimits} of the access policy.
 *
 * - A connection limit (`max_connections`, `max_connections_per_client`,
 *   `users[].max_connections`) is a sorted set `<prefix>lease:{<group>}:<key>`
 *   of leases, each member `<instance>:<n>` scored by its expiry (Redis
 *   `TIME` + `cluster.lease_time`, milliseconds); the group is the listener
 *   for its listener and client keys (taken together), the key for a user.
 *   One script prunes the expired members (`ZREMRANGEBYSCORE`), counts
 *   (`ZCARD`) and adds (`ZADD`) to every set of the call only if each is
 *   below its limit: atomic, so parallel opens on every instance never take
 *   one more, and one round trip per connection. A live session's lease is renewed every
 *   third of the lease time (`ZADD XX`); its end removes it (`ZREM`); the
 *   leases of an instance that died are pruned once they expire.
 * - A connection rate (`connection_rate`) is a GCRA under
 *   `<prefix>rate:{<key>}`: redis-cell's `CL.THROTTLE key limit-1 limit
 *   period 1` when the module is loaded and the period is whole seconds,
 *   else a Lua script with the same arithmetic as the in-memory limiter
 *   (the "theoretical arrival time" at Redis `TIME`, `SET ... PX`).
 * Scripts go with `EVALSHA` (ioredis' `defineCommand`, `EVAL` after a
 * `NOSCRIPT`). Each key has its own hash tag, so a Redis Cluster spreads
 * them; each script touches one key.
 *
 * @module
 */
import type { SharedCount, SharedLease, SharedLimits } from "../access/index.ts";
import type { Backend } from "./backend.ts";

/**
 * Prune and count every set; add the member to all of them only if each is
 * below its limit. KEYS the sets; ARGV member, lease ms, one limit per key.
 * Returns 0, or the 1-based index of the first set at its limit.
 */
const ACQUIRE_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
for i, k in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  if redis.call('ZCARD', k) >= tonumber(ARGV[i + 2]) then return i end
end
for _, k in ipairs(KEYS) do
  redis.call('ZADD', k, now + lease, ARGV[1])
  redis.call('PEXPIRE', k, lease * 2)
end
return 0`;

/** Remove the member from every set. KEYS the sets; ARGV member. */
const RELEASE_LUA = `for _, k in ipairs(KEYS) do redis.call('ZREM', k, ARGV[1]) end
return 1`;

/** Move the expiry of live members on. KEYS[1] the set; ARGV lease ms, members... */
const RENEW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], lease * 2)
return #ARGV - 1`;

/** GCRA at Redis time. KEYS[1] the TAT key; ARGV limit, period ms. */
const RATE_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local period = tonumber(ARGV[2])
local interval = period / tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > period * (1 + 1e-9) then return 0 end
redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.ceil(nxt - now) + 1)
return 1`;

/** The shared limits of one instance; see the module docs. */
export class SharedRedisLimits implements SharedLimits {
  readonly #backend: Backend;
  readonly #prefix: string;
  readonly #instance: string;
  readonly #leaseMs: number;
  /** Live leases: member to the keys of its sets. */
  readonly #live = new Map<string, readonly string[]>();
  #seq = 0;
  #renewal: ReturnType<typeof setInterval>;
  /** Whether redis-cell's CL.THROTTLE is there (checked on each connect). */
  cell = false;

  /**
   * @param backend the Redis connection
   * @param prefix `cluster.key_prefix`
   * @param instance `cluster.instance` (lease member names start with it)
   * @param leaseSeconds `cluster.lease_time`
   */
  constructor(backend: Backend, prefix: string, instance: string, leaseSeconds: number) {
    this.#backend = backend;
    this.#prefix = prefix;
    this.#instance = instance;
    this.#leaseMs = Math.max(1, Math.round(leaseSeconds * 1000));
    backend.client.defineCommand("psAcquire", { lua: ACQUIRE_LUA });
    backend.client.defineCommand("psRelease", { lua: RELEASE_LUA });
    backend.client.defineCommand("psRenew", { numberOfKeys: 1, lua: RENEW_LUA });
    backend.client.defineCommand("psRate", { numberOfKeys: 1, lua: RATE_LUA });
    this.#renewal = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.#leaseMs / 3)));
  }

  /** Look for redis-cell (`COMMAND INFO CL.THROTTLE`), after each connect. */
  async detectCell(): Promise<void> {
    const info = await this.#backend.call("probe_cell", (c) => c.command("INFO", "CL.THROTTLE"));
    this.cell = Array.isArray(info) && Array.isArray(info[0]);
  }

  /** Redis key of the leases of `count` (its group is the hash tag). */
  leaseKey(count: Pick<SharedCount, "key" | "group">): string {
    return `${this.#prefix}lease:{${count.group}}:${count.key}`;
  }

  /** See {@linkcode SharedLimits.acquire}. */
  async acquire(counts: readonly SharedCount[]): Promise<SharedLease | number | undefined> {
    const keys = counts.map((c) => this.leaseKey(c));
    const member = `${this.#instance}:${++this.#seq}`;
    const got = await this.#backend.call(
      "lease_acquire",
      (c) => c.psAcquire(keys.length, ...keys, member, this.#leaseMs, ...counts.map((x) => x.limit)),
    );
    if (got === undefined) return undefined;
    if (Number(got) !== 0) return Number(got) - 1;
    this.#live.set(member, keys);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#live.delete(member);
        void this.#backend.call("lease_release", (c) => c.psRelease(keys.length, ...keys, member));
      },
    };
  }

  /** See {@linkcode SharedLimits.take}. */
  async take(key: string, limit: number, periodSeconds: number): Promise<boolean | undefined> {
    const rateKey = `${this.#prefix}rate:{${key}}`;
    if (this.cell && Number.isInteger(periodSeconds) && periodSeconds > 0) {
      const reply = await this.#backend.call(
        "rate",
        (c) => c.call("CL.THROTTLE", rateKey, limit - 1, limit, periodSeconds, 1),
      );
      return Array.isArray(reply) ? Number(reply[0]) === 0 : undefined;
    }
    const got = await this.#backend.call("rate", (c) => c.psRate(rateKey, limit, Math.round(periodSeconds * 1000)));
    return got === undefined ? undefined : Number(got) === 1;
  }

  /** Renew every live lease (one script per set). Called on a timer; nothing to do while Redis is down. */
  async renew(): Promise<void> {
    if (this.#live.size === 0 || !this.#backend.up) return;
    const byKey = new Map<string, string[]>();
    for (const [member, keys] of this.#live) {
      for (const key of keys) {
        const members = byKey.get(key);
        if (members === undefined) byKey.set(key, [member]);
        else members.push(member);
      }
    }
    await Promise.all(
      [...byKey].map(([key, members]) =>
        this.#backend.call("lease_renew", (c) => c.psRenew(key, this.#leaseMs, ...members))
      ),
    );
  }

  /** Stop renewing (at shutdown; the leases then expire, or are released by their sessions). */
  close(): void {
    clearInterval(this.#renewal);
  }
}
