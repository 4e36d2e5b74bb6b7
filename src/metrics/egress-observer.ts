/**
 * The metrics side of egress's {@linkcode EgressObserver}: each signal about
 * an egress source becomes an update of an `egress_source_*` metric,
 * labelled with the source's name (the mapping is in `egress/observer.ts`).
 *
 * The connection path is cheap: each source's label children are resolved
 * once (on its first signal, which the registry sends for every source when
 * it is built) and `connectionOpened()` / `connectionClosed()` are one map
 * lookup and one or two `inc`/`dec` calls.
 *
 * @module
 */

import type { Counter, Gauge } from "prom-client";
import type { EgressObserver, FailureKind } from "../egress/index.ts";
import type { ProxyMetrics } from "./registry.ts";

type CounterChild = ReturnType<Counter["labels"]>;
type GaugeChild = ReturnType<Gauge["labels"]>;

/**
 * Every failure kind (a `Record` so that a kind added to `FailureKind` must
 * be added here): their series start at 0, so `rate()` works from the first
 * failure.
 */
const FAILURE_KINDS: Record<FailureKind, true> = { ProxyUnhealthy: true, Unplumbed: true };

/** The label children of one source. */
interface SourceSeries {
  connections: CounterChild;
  active: GaugeChild;
  healthy: GaugeChild;
  failures: Record<FailureKind, CounterChild>;
}

/**
 * An {@linkcode EgressObserver} that records into a {@linkcode ProxyMetrics}:
 * `egress_source_connection_failures_total{source,kind}`,
 * `egress_source_health_suspensions_total{source,reason}`,
 * `egress_source_health_suspended{source,reason}`,
 * `egress_source_connections_total{source}`,
 * `egress_source_active_connections{source}` and
 * `egress_source_healthy{source}`. A source's series (all but the per-reason
 * ones) appear at 0 on its first signal; per-reason series appear with the
 * first suspension for that reason and stay (at 0) after it ends.
 *
 * @example
 * ```ts
 * const metrics = new ProxyMetrics({ version, runtime });
 * const registry = new EgressRegistry(spec, { runtime: getRuntime(), observer: new EgressMetricsObserver(metrics) });
 * ```
 */
export class EgressMetricsObserver implements EgressObserver {
  readonly #metrics: ProxyMetrics;
  readonly #series = new Map<string, SourceSeries>();

  constructor(metrics: ProxyMetrics) {
    this.#metrics = metrics;
  }

  #for(source: string): SourceSeries {
    let s = this.#series.get(source);
    if (s === undefined) {
      const m = this.#metrics.set;
      const labels = { source };
      const failures = {} as Record<FailureKind, CounterChild>;
      for (const kind of Object.keys(FAILURE_KINDS) as FailureKind[]) {
        failures[kind] = m.egress_source_connection_failures_total.labels({ source, kind });
        failures[kind].inc(0);
      }
      s = {
        connections: m.egress_source_connections_total.labels(labels),
        active: m.egress_source_active_connections.labels(labels),
        healthy: m.egress_source_healthy.labels(labels),
        failures,
      };
      s.connections.inc(0);
      s.active.set(0);
      // A source is usable until told otherwise (the registry reports it at start).
      s.healthy.set(1);
      this.#series.set(source, s);
    }
    return s;
  }

  /** `egress_source_connection_failures_total{source,kind}` + 1. */
  connectionFailed(source: string, kind: FailureKind): void {
    this.#for(source).failures[kind].inc();
  }

  /** `egress_source_health_suspensions_total{source,reason}` + 1, `egress_source_health_suspended{source,reason}` = 1. */
  suspended(source: string, reason: string): void {
    this.#for(source);
    const labels = { source, reason };
    this.#metrics.set.egress_source_health_suspensions_total.labels(labels).inc();
    this.#metrics.set.egress_source_health_suspended.labels(labels).set(1);
  }

  /** `egress_source_health_suspended{source,reason}` = 0. */
  unsuspended(source: string, reason: string): void {
    this.#for(source);
    this.#metrics.set.egress_source_health_suspended.labels({ source, reason }).set(0);
  }

  /** `egress_source_connections_total{source}` + 1, `egress_source_active_connections{source}` + 1. */
  connectionOpened(source: string): void {
    const s = this.#for(source);
    s.connections.inc();
    s.active.inc();
  }

  /** `egress_source_active_connections{source}` - 1. */
  connectionClosed(source: string): void {
    this.#for(source).active.dec();
  }

  /** `egress_source_healthy{source}` = 1 or 0. */
  healthChanged(source: string, healthy: boolean): void {
    this.#for(source).healthy.set(healthy ? 1 : 0);
  }
}
