/**
 * Egress: sending through sources and pools, as KumoMTA's `kumod` does, with
 * automatic suspension of unhealthy sources and active health checks. Usable
 * as a library by other TypeScript programs on Deno and Bun.
 *
 * - {@linkcode EgressSource}: one way out (direct, upstream SOCKS5, HAProxy
 *   PROXY v2); `connect(destination)` returns a connection.
 * - {@linkcode EgressPool}: weighted sources; `select()` returns the next
 *   eligible source, `connect(destination)` selects with failover.
 * - {@linkcode EgressRegistry}: everything configured, by name, with the
 *   admin surface (`list`, `suspend`, `clear`) and health checks.
 * - {@linkcode EgressObserver}: the signals behind the `egress_source_*` metrics.
 * - {@linkcode SourceSuspension} (a source's `suspension`): failures,
 *   suspension rules and expiry; {@linkcode ActiveCheck}: a source's health
 *   checks. Both keep time with a {@linkcode Clock} ({@linkcode SYSTEM_CLOCK}
 *   unless one is passed).
 * - {@linkcode HandshakeWatch}: the time bounds of one connect through a
 *   proxy (`connect_timeout`, default {@linkcode defaultConnectTimeout}).
 * - {@linkcode sourceSpecProblems}: the rules between a source's keys (the
 *   config schema applies the same ones).
 * - {@linkcode SourceStatusSchema}: a source's state as the admin API lists it.
 *
 * @example
 * ```ts
 * import { EgressPool, EgressSource } from "./src/egress/index.ts";
 * import { getRuntime } from "./src/runtime/index.ts";
 * const runtime = getRuntime();
 * const unhealthy = { trigger: { limit: 3, period: 300 }, duration: 600 };
 * const pool = new EgressPool("outbound", [
 *   { source: new EgressSource("ip-1", {
 *       socks5_proxy_server: { host: "127.0.0.1", port: 5000 },
 *       socks5_proxy_source_address: "10.0.0.1",
 *       suspend_when_proxy_unhealthy: unhealthy,
 *     }, { runtime }), weight: 3 },
 *   { source: new EgressSource("ip-2", { source_address: "10.0.0.2" }, { runtime }), weight: 1 },
 * ]);
 * const source = pool.select(); // ip-1 three times out of four
 * const conn = await pool.connect({ host: "192.0.2.25", port: 25 }, { timeout: 30 });
 * conn.close();
 * ```
 *
 * @module
 */
export {
  AllSourcesSuspendedError,
  type ConnectFailureClass,
  EgressConnectError,
  type FailureKind,
  InvalidSuspensionError,
  NoSourcesError,
  SourceSuspendedError,
  UnknownSourceError,
} from "./errors.ts";
export { type EgressObserver, NULL_EGRESS_OBSERVER } from "./observer.ts";
export {
  type EgressPoolSpec,
  type EgressSourceKind,
  type EgressSourceSpec,
  formatServer,
  type HealthCheckSpec,
  type PoolEntrySpec,
  type ServerAddress,
  sourceKind,
  type SuspendRule,
  type Trigger,
} from "./spec.ts";
export {
  type ActiveSuspension,
  DEFAULT_FAILURE_WINDOW_SECONDS,
  HEALTH_CHECK_REASON,
  SourceSuspension,
  type SourceSuspensionOptions,
} from "./suspension.ts";
export {
  DEFAULT_CONNECT_TIMEOUT,
  type EgressConnectOptions,
  EgressSource,
  type EgressSourceOptions,
} from "./source.ts";
export {
  type SourceSpecKey,
  type SourceSpecProblem,
  sourceSpecProblems,
  type SourceSpecShape,
} from "./source-rules.ts";
export { EgressPool, type EgressPoolOptions, type PoolMember, SUSPENDED_WARN_INTERVAL_SECONDS } from "./pool.ts";
export {
  DEFAULT_CONNECT_TIMEOUT_FRACTION,
  defaultConnectTimeout,
  type HandshakeExpiry,
  type HandshakePhase,
  HandshakeWatch,
} from "./handshake-deadline.ts";
export { ActiveCheck, type ActiveCheckOptions, type CheckedSource } from "./active-check.ts";
export { type Clock, type ClockTimer, SYSTEM_CLOCK } from "./clock.ts";
export {
  DEFAULT_ADMIN_REASON,
  EgressRegistry,
  type EgressRegistryOptions,
  type EgressRegistrySpec,
  REASON_PATTERN,
} from "./registry.ts";
export { type SourceStatus, SourceStatusSchema } from "./status.ts";
export type { SuspensionShare } from "./shared.ts";
export { proxyV2Header, proxyV2LocalHeader } from "./proxy-v2.ts";
