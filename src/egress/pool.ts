/**
 * An egress pool: weighted sources and the choice among them (KumoMTA's
 * `kumo.make_egress_pool` and `EgressPoolSourceSelector`).
 *
 * Selection is the interleaved weighted round robin kumod uses (the LVS
 * "Weighted Round-Robin Scheduling" algorithm: a current weight that steps
 * down by the gcd of the weights each time the index wraps, and an entry is
 * chosen when its weight reaches the current weight), over the entries that
 * are not suspended; weight 0 entries are never chosen. Over any run of
 * selections without suspensions, each source's share is its weight over
 * the total (weights 3:1 give 75/25 over 100 selections).
 *
 * {@linkcode EgressPool.connect} adds failover: when the chosen source
 * fails with a proxy-unhealthy or unplumbed failure, the next eligible
 * source is tried, at most once per source, within the caller's timeout.
 * Each proxy source bounds its own handshake by its `connect_timeout`
 * (default a quarter of the caller's timeout), so a silent or crawling
 * upstream costs a fraction of the timeout, not all of it.
 *
 * When every source is suspended, `connect` fails at once and logs a WARN
 * saying which source comes back first; a client can repeat that request as
 * fast as it likes, so the WARN is written at most once per pool per
 * {@linkcode SUSPENDED_WARN_INTERVAL_SECONDS}, the repeats in between at
 * DEBUG, and the next WARN says how many it left out.
 *
 * @module
 */
import { getLog, rateLimited, type RateLimitedLog } from "../log/index.ts";
import { type Conn, formatHostPort } from "../runtime/index.ts";
import type { SocksAddress } from "../socks5/index.ts";
import { AllSourcesSuspendedError, EgressConnectError, NoSourcesError } from "./errors.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { formatSeconds } from "./suspension.ts";
import { deadline, type EgressConnectOptions, type EgressSource } from "./source.ts";

const log = getLog("egress");

/** The "every source is suspended" WARN of a pool is written at most once per this many seconds. */
export const SUSPENDED_WARN_INTERVAL_SECONDS = 60;

/** Options of the {@linkcode EgressPool} constructor. */
export interface EgressPoolOptions {
  /**
   * Time for the rate limit of the "every source is suspended" WARN;
   * default {@linkcode SYSTEM_CLOCK}.
   */
  clock?: Clock;
}

/** One weighted member of a pool. */
export interface PoolMember {
  /** The source. */
  source: EgressSource;
  /** Its weight (a non-negative integer; 0 = never chosen). Default 1. */
  weight?: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** A pool of weighted egress sources; see the module docs. */
export class EgressPool {
  /** The pool's name. */
  readonly name: string;
  /** Members with a non-zero weight, in configuration order. */
  readonly members: readonly { source: EgressSource; weight: number }[];
  #index = 0;
  #currentWeight = 0;
  /** The "every source is suspended" WARN: one per interval (this pool is its only key). */
  #suspendedWarn: RateLimitedLog;

  /**
   * @param name the pool's name
   * @param members the sources and their weights; weight-0 members are dropped
   * @param options the clock of the WARN rate limit
   * @throws {RangeError} when a weight is not a non-negative integer.
   * @example
   * ```ts
   * const runtime = getRuntime();
   * const pool = new EgressPool("MediumReputation", [
   *   { source: new EgressSource("ip-2", { source_address: "10.0.0.2" }, { runtime }), weight: 2 },
   *   { source: new EgressSource("ip-3", { source_address: "10.0.0.3" }, { runtime }), weight: 1 },
   * ]);
   * pool.select().name; // "ip-2", "ip-3", "ip-2", ...
   * ```
   */
  constructor(name: string, members: readonly PoolMember[], options: EgressPoolOptions = {}) {
    this.name = name;
    const clock = options.clock ?? SYSTEM_CLOCK;
    this.#suspendedWarn = rateLimited(log, SUSPENDED_WARN_INTERVAL_SECONDS, { now: () => clock.now() });
    for (const m of members) {
      const w = m.weight ?? 1;
      if (!Number.isInteger(w) || w < 0) {
        throw new RangeError(`egress pool ${name}: weight ${w} is not a non-negative integer`);
      }
    }
    this.members = members
      .map((m) => ({ source: m.source, weight: m.weight ?? 1 }))
      .filter((m) => m.weight > 0);
  }

  /**
   * The next source by weighted round robin, skipping suspended sources and
   * those in `exclude`.
   *
   * @param exclude sources not to choose (e.g. ones that already failed)
   * @throws {NoSourcesError} when the pool has no member with a non-zero weight.
   * @throws {AllSourcesSuspendedError} when every candidate is suspended;
   * it names the one that comes back first and when.
   */
  select(exclude: ReadonlySet<EgressSource> = new Set()): EgressSource {
    if (this.members.length === 0) throw new NoSourcesError(this.name);
    const eligible: { source: EgressSource; weight: number }[] = [];
    let earliest: { source: string; remaining: number } | undefined;
    for (const member of this.members) {
      if (exclude.has(member.source)) continue;
      const suspended = member.source.suspension.current();
      if (suspended === undefined) {
        eligible.push(member);
      } else if (earliest === undefined || suspended.remaining < earliest.remaining) {
        earliest = { source: member.source.name, remaining: suspended.remaining };
      }
    }
    if (eligible.length === 0) {
      if (earliest === undefined) throw new NoSourcesError(this.name);
      throw new AllSourcesSuspendedError(this.name, earliest.source, earliest.remaining);
    }
    return this.#next(eligible);
  }

  /** kumod's `next_impl`: the interleaved WRR step over `entries`. */
  #next(entries: { source: EgressSource; weight: number }[]): EgressSource {
    if (entries.length === 1) return entries[0].source;
    let max = 0;
    let divisor = 0;
    for (const e of entries) {
      max = Math.max(max, e.weight);
      divisor = gcd(divisor, e.weight);
    }
    // Bounded: within one full sweep of weights the current weight reaches
    // `max`, which the heaviest entry matches.
    for (let step = 0; step <= entries.length * (max / divisor + 1); step++) {
      this.#index = (this.#index + 1) % entries.length;
      if (this.#index === 0) {
        this.#currentWeight = Math.max(0, this.#currentWeight - divisor);
        if (this.#currentWeight === 0) this.#currentWeight = max;
      }
      if (entries[this.#index].weight >= this.#currentWeight) return entries[this.#index].source;
    }
    return entries[0].source;
  }

  /**
   * Connect to `destination` through a source of this pool: select one,
   * connect, and when it fails with a `"ProxyUnhealthy"` or `"Unplumbed"`
   * failure, select again among the sources not tried yet (each at most
   * once), all within the one `signal`/`timeout`.
   *
   * @param destination host (IP literal or DNS name) and port
   * @param options abort signal and/or timeout (seconds; 60 when neither is given)
   * @throws {AllSourcesSuspendedError} at once when every source is suspended
   * (logged with when the earliest comes back: at WARN at most once a
   * minute per pool, else at DEBUG).
   * @throws {NoSourcesError} when the pool has no source of non-zero weight.
   * @throws {EgressConnectError} the destination failure of the chosen
   * source, or the last source's failure when every eligible source failed.
   */
  async connect(destination: SocksAddress, options: EgressConnectOptions = {}): Promise<Conn> {
    const bound = deadline(options);
    const { signal, budget } = bound;
    const tried = new Set<EgressSource>();
    let last: EgressConnectError | undefined;
    try {
      for (;;) {
        let source: EgressSource;
        try {
          source = this.select(tried);
        } catch (error) {
          if (last !== undefined) throw last;
          if (error instanceof AllSourcesSuspendedError) this.#logAllSuspended(error);
          throw error;
        }
        tried.add(source);
        try {
          // `timeout` is the whole budget: the base of the source's default
          // connect_timeout (its own timer never ends before `signal`).
          const conn = await source.connect(destination, { signal, timeout: budget });
          options.onSource?.(source.name);
          return conn;
        } catch (error) {
          if (
            !(error instanceof EgressConnectError) || error.kind === "Destination" || error.kind === "Local" ||
            signal.aborted
          ) throw error;
          last = error;
          log.info("egress pool {pool}: source {source} failed ({kind}) for {destination}; trying the next source", {
            pool: this.name,
            source: source.name,
            kind: error.kind,
            destination: formatHostPort(destination),
          });
        }
      }
    } finally {
      bound.dispose();
    }
  }

  /**
   * The "every source is suspended" line: WARN when none was written in the
   * last {@linkcode SUSPENDED_WARN_INTERVAL_SECONDS} (the shared
   * `rateLimited` log, which appends how many were held back since the
   * previous one), else DEBUG.
   */
  #logAllSuspended(error: AllSourcesSuspendedError): void {
    const message = "egress pool {pool}: every source is suspended; the earliest, {source}, comes back {when}";
    const fields = {
      pool: this.name,
      source: error.source,
      when: Number.isFinite(error.retryAfter)
        ? `in ${formatSeconds(error.retryAfter)} (at ${new Date(Date.now() + error.retryAfter * 1000).toISOString()})`
        : "when its health check passes",
    };
    if (!this.#suspendedWarn.warn(this.name, message, fields)) log.debug(message, fields);
  }
}
