/**
 * The egress registry: every configured source and pool by name, their
 * health checks, and the query/command surface the admin HTTP API calls
 * (list sources, suspend one by hand, clear a suspension).
 *
 * @module
 */
import type { Runtime } from "../runtime/index.ts";
import { InvalidSuspensionError, UnknownSourceError } from "./errors.ts";
import { ActiveCheck } from "./active-check.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { type EgressObserver, NULL_EGRESS_OBSERVER } from "./observer.ts";
import { EgressPool } from "./pool.ts";
import { EgressSource } from "./source.ts";
import type { EgressPoolSpec, EgressSourceSpec } from "./spec.ts";
import type { SourceStatus } from "./status.ts";
import type { SuspensionShare } from "./shared.ts";

/** Reason label given to a manual suspension when none is supplied. */
export const DEFAULT_ADMIN_REASON = "Admin";

/** Accepted manual suspension reasons: they become the `reason` label of metrics. */
export const REASON_PATTERN: RegExp = /^[A-Za-z0-9_.:-]{1,64}$/;

/** What the registry is built from: the loaded `sources` and `pools`. */
export interface EgressRegistrySpec {
  /** Sources by name. */
  sources: Readonly<Record<string, EgressSourceSpec>>;
  /** Pools by name; every entry names a source of `sources`. */
  pools: Readonly<Record<string, EgressPoolSpec>>;
}

/** Options of {@linkcode EgressRegistry}. */
export interface EgressRegistryOptions {
  /** The runtime every source connects with. */
  runtime: Runtime;
  /** Receives the metric signals of every source. */
  observer?: EgressObserver;
  /**
   * Time and timers of every source's suspension state and health checks;
   * default {@linkcode SYSTEM_CLOCK}. Tests pass one they advance.
   */
  clock?: Clock;
  /**
   * Where every source's suspensions are shared with other instances
   * (`cluster`, implemented in `src/cluster/`); default none: all state is
   * process-local.
   */
  share?: SuspensionShare;
}

/** Sources, pools and health checks by name; see the module docs. */
export class EgressRegistry {
  #sources = new Map<string, EgressSource>();
  #pools = new Map<string, EgressPool>();
  #checkers: ActiveCheck[] = [];
  #active = new Map<string, number>();

  /**
   * Build every source and pool. Each source reports `healthChanged(name,
   * true)` to the observer once, so the health gauge exists from the start.
   * Health checks start with {@linkcode startHealthChecks}.
   *
   * @throws {TypeError} for a contradictory source spec, or a pool entry
   * naming an unknown source.
   */
  constructor(spec: EgressRegistrySpec, options: EgressRegistryOptions) {
    const outer = options.observer ?? NULL_EGRESS_OBSERVER;
    const clock = options.clock ?? SYSTEM_CLOCK;
    const observer: EgressObserver = {
      connectionFailed: (s, k) => outer.connectionFailed(s, k),
      suspended: (s, r) => outer.suspended(s, r),
      unsuspended: (s, r) => outer.unsuspended(s, r),
      healthChanged: (s, h) => outer.healthChanged(s, h),
      connectionOpened: (source) => {
        this.#active.set(source, (this.#active.get(source) ?? 0) + 1);
        outer.connectionOpened(source);
      },
      connectionClosed: (source) => {
        this.#active.set(source, (this.#active.get(source) ?? 1) - 1);
        outer.connectionClosed(source);
      },
    };
    for (const [name, sourceSpec] of Object.entries(spec.sources)) {
      const source = new EgressSource(name, sourceSpec, {
        runtime: options.runtime,
        observer,
        clock,
        share: options.share,
      });
      this.#sources.set(name, source);
      outer.healthChanged(name, true);
      if (sourceSpec.health_check !== undefined) {
        this.#checkers.push(new ActiveCheck(source, sourceSpec.health_check, { clock }));
      }
    }
    for (const [name, poolSpec] of Object.entries(spec.pools)) {
      this.#pools.set(
        name,
        new EgressPool(
          name,
          poolSpec.entries.map((entry) => {
            const source = this.#sources.get(entry.name);
            if (source === undefined) {
              throw new TypeError(`egress pool ${name}: entry names unknown source ${JSON.stringify(entry.name)}`);
            }
            return { source, weight: entry.weight };
          }),
          { clock },
        ),
      );
    }
  }

  /**
   * The source called `name`.
   *
   * @throws {UnknownSourceError} when there is none.
   */
  source(name: string): EgressSource {
    const source = this.#sources.get(name);
    if (source === undefined) throw new UnknownSourceError(name);
    return source;
  }

  /** The pool called `name`, or `undefined`. */
  pool(name: string): EgressPool | undefined {
    return this.#pools.get(name);
  }

  /** Every pool, by name. */
  get pools(): ReadonlyMap<string, EgressPool> {
    return this.#pools;
  }

  /** The active checks of the sources that have a `health_check`. */
  get activeChecks(): readonly ActiveCheck[] {
    return this.#checkers;
  }

  /** Every source's name, in configuration order. */
  get sourceNames(): string[] {
    return [...this.#sources.keys()];
  }

  /** Every source with its state, in configuration order. */
  list(): SourceStatus[] {
    return [...this.#sources.values()].map((source) => this.status(source.name));
  }

  /**
   * The state of one source.
   *
   * @throws {UnknownSourceError} when there is no such source.
   */
  status(name: string): SourceStatus {
    const source = this.source(name);
    const suspension = source.suspension.current();
    const failures = source.suspension.failuresInWindow();
    return {
      name,
      kind: source.kind,
      healthy: source.suspension.healthy,
      suspended: suspension !== undefined,
      reason: suspension?.reason ?? null,
      remaining_seconds: suspension === undefined || !Number.isFinite(suspension.remaining)
        ? null
        : Math.round(suspension.remaining * 1000) / 1000,
      active_connections: this.#active.get(name) ?? 0,
      failures_in_window: failures.count,
      window_seconds: failures.windowSeconds,
      health_check: source.spec.health_check !== undefined,
      // Only with a share (cluster), so the single-process listing is unchanged.
      ...(suspension?.clusterWide === undefined
        ? {}
        : { cluster_wide: suspension.clusterWide, suspended_by: suspension.instance ?? null }),
    };
  }

  /**
   * Suspend a source by hand for `seconds` (`POST
   * /api/admin/egress/sources/{name}/suspend/v1`): pool selection skips it
   * until the time is up or it is cleared. Same transitions as an automatic
   * suspension (counter, gauge, WARN).
   *
   * @param reason the `reason` label, matching {@linkcode REASON_PATTERN}; default `"Admin"`
   * @returns the source's new state
   * @throws {UnknownSourceError} when there is no such source.
   * @throws {InvalidSuspensionError} when `seconds` is not a positive finite
   * number or `reason` does not match {@linkcode REASON_PATTERN}.
   */
  suspend(name: string, seconds: number, reason: string = DEFAULT_ADMIN_REASON): SourceStatus {
    const source = this.source(name);
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new InvalidSuspensionError(`duration must be a positive number of seconds, got ${seconds}`);
    }
    if (!REASON_PATTERN.test(reason)) {
      throw new InvalidSuspensionError(
        `reason must be 1 to 64 letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(reason)}`,
      );
    }
    source.suspension.suspend(reason, seconds, "admin");
    return this.status(name);
  }

  /**
   * End a source's suspension now, whatever its reason (`DELETE
   * /api/admin/egress/sources/{name}/suspend/v1`). A failing health check
   * suspends it again on its next failed check after `fall`.
   *
   * @returns the source's new state (`suspended: false`)
   * @throws {UnknownSourceError} when there is no such source.
   */
  clear(name: string): SourceStatus {
    this.source(name).suspension.clear("admin");
    return this.status(name);
  }

  /** Start every source's health checks. */
  startHealthChecks(): void {
    for (const checker of this.#checkers) checker.start();
  }

  /** Stop health checks and suspension timers (e.g. at shutdown). */
  async stop(): Promise<void> {
    await Promise.all(this.#checkers.map((c) => c.stop()));
    for (const source of this.#sources.values()) source.suspension.dispose();
  }
}
