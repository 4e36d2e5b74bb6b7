/**
 * Prometheus metrics: the declared metric table, the registry, and the
 * observers that turn proxy session events ({@linkcode MetricsObserver}) and
 * egress source events ({@linkcode EgressMetricsObserver}) into metric
 * updates.
 *
 * @example
 * ```ts
 * import { MetricsObserver, ProxyMetrics } from "./metrics/index.ts";
 * const metrics = new ProxyMetrics({ version: "0.1.0", runtime: { name: "bun", version: "1.4.5" } });
 * const observer = new MetricsObserver(metrics, { listeners: ["127.0.0.1:1080"], maxOutboundDestinations: 1000 });
 * console.log(await metrics.registry.metrics());
 * ```
 *
 * @module
 */
export { type MetricDefinition, type MetricName, METRICS, type MetricType } from "./definitions.ts";
export {
  DROPPED_DEFAULT_METRICS,
  type ExpositionFormat,
  type MetricMetadata,
  type MetricSet,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  ProxyMetrics,
  type ProxyMetricsOptions,
} from "./registry.ts";
export { MetricsObserver, type MetricsObserverOptions } from "./observer.ts";
export { EgressMetricsObserver } from "./egress-observer.ts";
export { AuthMetricsObserver } from "./auth-observer.ts";
export { BUN_DROPPED_METRICS } from "./bun-process.ts";
