/**
 * The seam through which egress suspensions are shared between instances
 * (issue 15): egress declares it, `src/cluster/` implements it on Redis,
 * and without `cluster` nothing implements it, so the single-process path
 * is exactly the local one.
 *
 * What crosses it: the suspensions this instance makes (a
 * `suspend_when_*` rule firing, an operator's suspend) and an operator's
 * clear, one call each. Health-check verdicts and their `HealthCheck`
 * suspensions stay local (as KumoMTA keeps them), as do round-robin
 * positions. Suspensions made elsewhere come back through
 * {@linkcode SourceSuspension.applyShared} / `clearShared`.
 *
 * Every method returns at once: the implementation writes in the
 * background and never makes a tunnel wait for Redis.
 *
 * @module
 */
import type { FailureKind } from "./errors.ts";

/** Where this instance's suspensions go, and where shared failure windows are counted. */
export interface SuspensionShare {
  /** This instance's name (`cluster.instance`): who set a suspension made here. */
  readonly instance: string;
  /**
   * This instance suspended `source` for `seconds` (finite, > 0) with
   * `reason` ("ProxyUnhealthy", "Unplumbed" or an operator's reason).
   */
  suspended(source: string, reason: string, seconds: number): void;
  /** An operator of this instance cleared `source`'s suspension. */
  cleared(source: string): void;
  /**
   * `share_failure_windows`: count one failure of `kind` on `source` in a
   * window of `periodSeconds` shared by every instance.
   *
   * @returns the failures in the window across instances, or `undefined`
   * when the shared store cannot answer (the caller then uses its own count)
   */
  countFailure(source: string, kind: FailureKind, periodSeconds: number): Promise<number | undefined>;
}
