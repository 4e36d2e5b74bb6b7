/**
 * The metrics side of the user store's {@linkcode AuthObserver}: hash
 * verifications, cache hits and refusals become counter increments.
 *
 * @module
 */
import type { AuthLimit, AuthObserver } from "../auth/index.ts";
import type { ProxyMetrics } from "./registry.ts";

/**
 * An {@linkcode AuthObserver} that records into a {@linkcode ProxyMetrics}:
 * `proxy_auth_hash_verifications_total`, `proxy_auth_cache_hits_total`,
 * `proxy_auth_verifications_refused_total{limit}` (all at 0 from the start).
 *
 * @example
 * ```ts
 * configureAuth({ observer: new AuthMetricsObserver(metrics) });
 * ```
 */
export class AuthMetricsObserver implements AuthObserver {
  readonly #metrics: ProxyMetrics;

  /** @param metrics the registry to record into. */
  constructor(metrics: ProxyMetrics) {
    this.#metrics = metrics;
    const m = metrics.set;
    m.proxy_auth_hash_verifications_total.inc(0);
    m.proxy_auth_cache_hits_total.inc(0);
    for (const limit of ["client", "overall"] as const) {
      m.proxy_auth_verifications_refused_total.labels({ limit }).inc(0);
    }
  }

  /** `proxy_auth_hash_verifications_total` + 1. */
  hashVerified(): void {
    this.#metrics.set.proxy_auth_hash_verifications_total.inc();
  }

  /** `proxy_auth_cache_hits_total` + 1. */
  cacheHit(): void {
    this.#metrics.set.proxy_auth_cache_hits_total.inc();
  }

  /** `proxy_auth_verifications_refused_total{limit}` + 1. */
  refused(limit: AuthLimit): void {
    this.#metrics.set.proxy_auth_verifications_refused_total.labels({ limit }).inc();
  }
}
