/**
 * What egress reports about its sources. The metrics module implements it
 * (like the server's `ProxyObserver`); egress only calls it. Each member maps
 * to one metric family:
 *
 * | call | metric |
 * | --- | --- |
 * | `connectionFailed(source, kind)` | `egress_source_connection_failures_total{source,kind}` + 1 |
 * | `suspended(source, reason)` | `egress_source_health_suspensions_total{source,reason}` + 1 and `egress_source_health_suspended{source,reason}` = 1 |
 * | `unsuspended(source, reason)` | `egress_source_health_suspended{source,reason}` = 0 |
 * | `connectionOpened(source)` | `egress_source_connections_total{source}` + 1 and `egress_source_active_connections{source}` + 1 |
 * | `connectionClosed(source)` | `egress_source_active_connections{source}` - 1 |
 * | `healthChanged(source, healthy)` | `egress_source_healthy{source}` = 1 or 0 |
 *
 * The first three follow KumoMTA's `source_health` metrics; the last three
 * are Caddy layer4's per-upstream metrics.
 *
 * @module
 */
import type { FailureKind } from "./errors.ts";

/** Egress events; all are synchronous and must not throw. */
export interface EgressObserver {
  /**
   * A connect through `source` failed with a classified failure, whether or
   * not a `suspend_when_*` rule is configured for it.
   */
  connectionFailed(source: string, kind: FailureKind): void;
  /**
   * `source` entered the suspended state for `reason` (`"ProxyUnhealthy"`,
   * `"Unplumbed"`, `"HealthCheck"`, or an operator's reason from the admin
   * API). Also called, after {@linkcode unsuspended} of the old reason, when
   * an active suspension is replaced by one for another reason. Not called
   * when a suspension for the same reason is merely extended.
   */
  suspended(source: string, reason: string): void;
  /** The suspension of `source` for `reason` ended (expired, cleared, or replaced by another reason). */
  unsuspended(source: string, reason: string): void;
  /** A connection through `source` was established (the active count goes up). */
  connectionOpened(source: string): void;
  /** A connection through `source` was closed; called exactly once per {@linkcode connectionOpened}. */
  connectionClosed(source: string): void;
  /**
   * Whether `source` is usable: `true` when its health check (if any) passes
   * and it is not suspended. Called once per source when the registry is
   * built (with `true`), then on every change.
   */
  healthChanged(source: string, healthy: boolean): void;
}

/** An observer that records nothing (the default for library users). */
export const NULL_EGRESS_OBSERVER: EgressObserver = {
  connectionFailed() {},
  suspended() {},
  unsuspended() {},
  connectionOpened() {},
  connectionClosed() {},
  healthChanged() {},
};
