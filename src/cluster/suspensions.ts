/**
 * Egress suspensions shared through Redis: the {@linkcode SuspensionShare}
 * of every source of the current registry.
 *
 * - A suspension made here (a `suspend_when_*` rule, an operator) is one
 *   `EVALSHA` that `SET`s `<prefix>{egress}:suspension:<source>` to
 *   `{"reason","instance","set_at"}` with a TTL (`PX`) of its duration and
 *   `PUBLISH`es `{"op":"suspend","source","reason","ttl_ms","instance"}` on
 *   `<prefix>{egress}:suspensions`. Every instance subscribed applies it
 *   on receipt (well within a second on one network).
 * - An operator's clear `DEL`s the key and publishes `{"op":"clear"}`.
 * - Expiry needs no message: the key's TTL and every instance's timer end
 *   together.
 * - On start, after a reconnect and after a reload, the keys of every
 *   configured source are read (one script: `GET` + `PTTL` each) and
 *   applied; a shared suspension whose key is gone is cleared.
 * - While Redis is down, what this instance suspends or clears is kept and
 *   written when it is back, before the rest is read. When the Redis that
 *   comes back is another server (its `run_id` changed: a restart without
 *   persistence, a failover), the suspensions this instance set before the
 *   outage and still holds are written again too, since they may be gone.
 *
 * The keys share the hash tag `{egress}`, so the multi-key read stays on
 * one slot of a Redis Cluster. With `share_failure_windows`, Threshold
 * failures go into `<prefix>{egress}:failures:<source>:<kind>`, a sorted
 * set scored by Redis time (`TIME`), trimmed to the period.
 *
 * @module
 */
import type { EgressRegistry, FailureKind, SuspensionShare } from "../egress/index.ts";
import { getLog } from "../log/index.ts";
import type { Backend, RedisClient } from "./backend.ts";

const log = getLog("cluster");

/** SET the key with a TTL and PUBLISH the message, atomically. */
const SUSPEND_LUA = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

/** DEL the key and PUBLISH the message. */
const CLEAR_LUA = `redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1`;

/** Each key's value (or false) and its PTTL. */
const LOAD_LUA = `local out = {}
for i, k in ipairs(KEYS) do
  out[2 * i - 1] = redis.call('GET', k)
  out[2 * i] = redis.call('PTTL', k)
end
return out`;

/** Add one failure at Redis time, drop those older than the period, count. */
const FAILURE_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
redis.call('PEXPIRE', KEYS[1], period)
return redis.call('ZCARD', KEYS[1])`;

/** The message published on the channel. */
interface Message {
  op: "suspend" | "clear";
  source: string;
  instance: string;
  reason?: string;
  ttl_ms?: number;
}

/** What this instance did while its write could not reach Redis. */
type Pending = { op: "suspend"; reason: string; expiresAt: number } | { op: "clear" };

/** Define the scripts once per client (ioredis sends them with EVALSHA, EVAL on NOSCRIPT). */
export function defineSuspensionScripts(client: RedisClient): void {
  client.defineCommand("psSuspend", { numberOfKeys: 1, lua: SUSPEND_LUA });
  client.defineCommand("psClear", { numberOfKeys: 1, lua: CLEAR_LUA });
  client.defineCommand("psLoad", { lua: LOAD_LUA });
  client.defineCommand("psFailure", { numberOfKeys: 1, lua: FAILURE_LUA });
}

/** The shared suspensions of one instance; see the module docs. */
export class SharedSuspensions implements SuspensionShare {
  /** See {@linkcode SuspensionShare.instance}. */
  readonly instance: string;
  readonly #backend: Backend;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #pending = new Map<string, Pending>();
  #registry: EgressRegistry | undefined;
  #seq = 0;
  /** Counts changes (received or made here); a read started before a source's last change must not undo it. */
  #changes = 0;
  readonly #changedAt = new Map<string, number>();

  /**
   * @param backend the Redis connection
   * @param prefix `cluster.key_prefix`
   * @param instance `cluster.instance`
   */
  constructor(backend: Backend, prefix: string, instance: string) {
    this.#backend = backend;
    this.#prefix = prefix;
    this.instance = instance;
    this.#channel = `${prefix}{egress}:suspensions`;
    defineSuspensionScripts(backend.client);
    backend.subscriber.on("message", (channel: string, text: string) => {
      if (channel === this.#channel) this.#receive(text);
    });
    // After every (re)connect of the subscriber: subscribe, then read the
    // keys, so a suspension published while it was away is not missed.
    backend.subscriber.on("ready", () => {
      backend.subscriber.subscribe(this.#channel).then(
        () => this.sync(),
        (error: Error) => log.debug("cluster: subscribe: {error}", { error: error.message }),
      );
    });
  }

  /** The channel suspensions are published on. */
  get channel(): string {
    return this.#channel;
  }

  /** Redis key of `source`'s suspension. */
  key(source: string): string {
    return `${this.#prefix}{egress}:suspension:${source}`;
  }

  /**
   * Use `registry` for incoming suspensions (at start and after each
   * reload, whose registry replaces the last) and load the current set.
   */
  attach(registry: EgressRegistry): Promise<void> {
    this.#registry = registry;
    return this.sync();
  }

  /** See {@linkcode SuspensionShare.suspended}. */
  suspended(source: string, reason: string, seconds: number): void {
    this.#changedAt.set(source, ++this.#changes);
    const ttlMs = Math.max(1, Math.ceil(seconds * 1000));
    this.#pending.set(source, { op: "suspend", reason, expiresAt: Date.now() + ttlMs });
    void this.#flush(source);
  }

  /** See {@linkcode SuspensionShare.cleared}. */
  cleared(source: string): void {
    this.#changedAt.set(source, ++this.#changes);
    this.#pending.set(source, { op: "clear" });
    void this.#flush(source);
  }

  /** See {@linkcode SuspensionShare.countFailure}. */
  countFailure(source: string, kind: FailureKind, periodSeconds: number): Promise<number | undefined> {
    const key = `${this.#prefix}{egress}:failures:${source}:${kind}`;
    const member = `${this.instance}:${++this.#seq}`;
    return this.#backend.call("failure", (c) => c.psFailure(key, Math.ceil(periodSeconds * 1000), member))
      .then((n) => (n === undefined ? undefined : Number(n)));
  }

  /** Write one pending change; it stays pending when Redis cannot take it. */
  async #flush(source: string): Promise<void> {
    const pending = this.#pending.get(source);
    if (pending === undefined) return;
    let done: unknown;
    if (pending.op === "suspend") {
      const ttl = Math.ceil(pending.expiresAt - Date.now()); // PX takes whole milliseconds
      if (ttl <= 0) {
        this.#pending.delete(source);
        return;
      }
      const value = JSON.stringify({ reason: pending.reason, instance: this.instance, set_at: Date.now() });
      const message: Message = { op: "suspend", source, reason: pending.reason, ttl_ms: ttl, instance: this.instance };
      done = await this.#backend.call(
        "suspend",
        (c) => c.psSuspend(this.key(source), value, ttl, this.#channel, JSON.stringify(message)),
      );
    } else {
      const message: Message = { op: "clear", source, instance: this.instance };
      done = await this.#backend.call(
        "clear",
        (c) => c.psClear(this.key(source), this.#channel, JSON.stringify(message)),
      );
    }
    if (done !== undefined && this.#pending.get(source) === pending) this.#pending.delete(source);
  }

  /**
   * After (re)connecting: write what was made here meanwhile, then read
   * every configured source's key and apply it.
   */
  async sync(): Promise<void> {
    const registry = this.#registry;
    if (this.#backend.restarted && registry !== undefined) {
      this.#backend.restarted = false;
      for (const name of registry.sourceNames) {
        const held = registry.source(name).suspension.current();
        if (held?.instance !== this.instance || held.clusterWide !== true || !Number.isFinite(held.remaining)) continue;
        if (!this.#pending.has(name)) {
          this.#pending.set(name, {
            op: "suspend",
            reason: held.reason,
            expiresAt: Date.now() + held.remaining * 1000,
          });
        }
      }
    }
    for (const source of [...this.#pending.keys()]) await this.#flush(source);
    if (registry === undefined || !this.#backend.up) return;
    const names = registry.sourceNames;
    if (names.length === 0) return;
    const readAt = this.#changes;
    const reply = await this.#backend.call("load", (c) => c.psLoad(names.length, ...names.map((n) => this.key(n))));
    if (!Array.isArray(reply) || this.#registry !== registry) return;
    names.forEach((name, i) => {
      if (this.#pending.has(name)) return; // ours, not written yet
      // Changed (a message, or here) since the read was sent: the reply may predate it.
      if ((this.#changedAt.get(name) ?? 0) > readAt) return;
      const text = reply[2 * i] as string | null;
      const pttl = Number(reply[2 * i + 1]);
      const suspension = registry.source(name).suspension;
      if (typeof text !== "string" || !(pttl > 0)) {
        suspension.clearShared("-");
        return;
      }
      try {
        const value = JSON.parse(text) as { reason: string; instance: string };
        suspension.applyShared(value.reason, pttl / 1000, value.instance);
      } catch {
        log.debug("cluster: unreadable suspension of {source}: {text}", { source: name, text });
      }
    });
  }

  /** One message of the channel: apply another instance's suspension or clear. */
  #receive(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (message.instance === this.instance) return;
    const registry = this.#registry;
    if (registry === undefined || !registry.sourceNames.includes(message.source)) return;
    this.#changedAt.set(message.source, ++this.#changes);
    const suspension = registry.source(message.source).suspension;
    if (message.op === "clear") {
      this.#pending.delete(message.source);
      suspension.clearShared(message.instance);
    } else if (typeof message.reason === "string" && typeof message.ttl_ms === "number" && message.ttl_ms > 0) {
      this.#pending.delete(message.source);
      suspension.applyShared(message.reason, message.ttl_ms / 1000, message.instance);
    }
  }
}
