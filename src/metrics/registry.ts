/**
 * The Prometheus registry of a running proxy-server: every metric of
 * {@linkcode METRICS}, created once with a typed handle, plus prom-client's
 * default process metrics (`process_start_time_seconds`,
 * `process_resident_memory_bytes`, `process_open_fds`, ...; on Bun corrected
 * as `bun-process.ts` says), rendered in the Prometheus text format or in
 * OpenMetrics ({@linkcode ProxyMetrics.exposition}).
 *
 * @module
 */

import type * as prom from "prom-client";
import type { Counter, Gauge, Histogram } from "prom-client";
// The classes come from their own modules: prom-client's index also loads
// its Pushgateway (node:http, node:https) and every default collector, about
// 20 ms of a start that serves no metrics yet (issue 14). The default
// collectors are loaded by ProxyMetrics.loadProcessMetrics.
import CounterModule from "prom-client/lib/counter.js";
import GaugeModule from "prom-client/lib/gauge.js";
import HistogramModule from "prom-client/lib/histogram.js";
import RegistryModule from "prom-client/lib/registry.js";
import { type MetricDefinition, type MetricName, METRICS } from "./definitions.ts";

const CounterClass = CounterModule as unknown as typeof prom.Counter;
const GaugeClass = GaugeModule as unknown as typeof prom.Gauge;
const HistogramClass = HistogramModule as unknown as typeof prom.Histogram;
const Registry = RegistryModule as unknown as typeof prom.Registry;
type Registry<T extends prom.RegistryContentType = typeof prom.Registry.PROMETHEUS_CONTENT_TYPE> = prom.Registry<T>;

/** The prom-client class that implements a definition, with its label names. */
type MetricOf<D extends MetricDefinition> = D["type"] extends "counter" ? Counter<D["labels"][number]>
  : D["type"] extends "gauge" ? Gauge<D["labels"][number]>
  : Histogram<D["labels"][number]>;

/** A typed handle per declared metric: `set.proxy_active_connections` is a `Gauge<"listener">`. */
export type MetricSet = { readonly [K in MetricName]: MetricOf<(typeof METRICS)[K]> };

/**
 * prom-client default metrics that are left out on every runtime: gauges
 * whose names end in `_total`, which Prometheus' naming rules (and
 * `promtool check metrics`) reserve for counters (their per-type breakdowns
 * `nodejs_active_handles`, `nodejs_active_requests`,
 * `nodejs_active_resources` stay on Deno); and `process_heap_bytes`, which
 * is Linux `VmData`, the size of the data segment's address space, not a
 * heap: it counts the JavaScript engine's reservations (578 MB for a 57 MB
 * process on Deno, 6.4 GB for a 45 MB one on Bun), so it claims far more
 * than the process holds. `nodejs_heap_size_*_bytes` say what the heap holds.
 */
export const DROPPED_DEFAULT_METRICS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
  "process_heap_bytes",
] as const;

/** Content type of the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE: "text/plain; version=0.0.4; charset=utf-8" = Registry.PROMETHEUS_CONTENT_TYPE;

/** Content type of OpenMetrics 1.0.0 text. */
export const OPENMETRICS_CONTENT_TYPE: "application/openmetrics-text; version=1.0.0; charset=utf-8" =
  Registry.OPENMETRICS_CONTENT_TYPE;

/** The text formats {@linkcode ProxyMetrics.exposition} renders. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/** One metric's description, as `--dump-metric-metadata` prints it. */
export interface MetricMetadata {
  /** Metric family name, e.g. `"proxy_active_connections"`. */
  name: string;
  /** Prometheus type: `counter`, `gauge`, `histogram` or `summary`. */
  type: string;
  /** The `# HELP` text. */
  help: string;
  /** Label names (a histogram's `le` is implied, not listed). */
  labels: string[];
}

/** Options of {@linkcode ProxyMetrics}. */
export interface ProxyMetricsOptions {
  /** proxy-server's version (the `version` label of `proxy_build_info`). */
  version: string;
  /** Runtime name, `"deno"` or `"bun"`, and its version (labels of `proxy_build_info`). */
  runtime: { name: string; version: string };
  /**
   * The build stamp of a release binary: short commit hash and ISO 8601
   * build date (labels `commit` and `build_date` of `proxy_build_info`);
   * absent when run from source (`commit="source"`, `build_date=""`).
   */
  build?: { commit: string; date: string };
  /** Collect prom-client's default process metrics; default true. */
  processMetrics?: boolean;
}

function create(name: MetricName, d: MetricDefinition, registry: Registry): Counter | Gauge | Histogram {
  const common = { name, help: d.help, labelNames: [...d.labels], registers: [registry] };
  switch (d.type) {
    case "counter":
      return new CounterClass(common);
    case "gauge":
      return new GaugeClass(common);
    case "histogram":
      return new HistogramClass({ ...common, buckets: [...(d.buckets ?? [])] });
  }
}

/**
 * A registry holding every declared metric. Metrics start with no series;
 * `proxy_build_info` is set to 1 at construction.
 *
 * @example
 * ```ts
 * const m = new ProxyMetrics({ version: "0.1.0", runtime: { name: "bun", version: "1.4.5" } });
 * m.set.proxy_connections_accepted_total.labels({ listener: "127.0.0.1:1080" }).inc();
 * const text = await m.registry.metrics(); // Prometheus text exposition
 * ```
 */
export class ProxyMetrics {
  /** The prom-client registry (serve `registry.metrics()` with `registry.contentType`). */
  readonly registry: Registry = new Registry();
  /** Typed handles of the declared metrics. */
  readonly set: MetricSet;

  constructor(options: ProxyMetricsOptions) {
    this.#processMetrics = options.processMetrics ?? true;
    this.#runtimeName = options.runtime.name;
    const set: Record<string, Counter | Gauge | Histogram> = {};
    for (const [name, d] of Object.entries(METRICS)) set[name] = create(name as MetricName, d, this.registry);
    this.set = set as unknown as MetricSet;
    this.set.proxy_build_info.labels({
      version: options.version,
      commit: options.build?.commit ?? "source",
      build_date: options.build?.date ?? "",
      runtime: options.runtime.name,
      runtime_version: options.runtime.version,
    }).set(1);
  }

  readonly #processMetrics: boolean;
  readonly #runtimeName: string;
  #processLoaded: Promise<void> | undefined;

  /**
   * Add prom-client's default process metrics to the registry (once; a no-op
   * with `processMetrics: false`), ahead of the declared metrics as they
   * always came. They are loaded when first asked for, not at construction:
   * a proxy serves clients before anyone scrapes it. {@linkcode exposition}
   * and {@linkcode metadata} call it; call it before reading
   * {@linkcode registry} directly.
   *
   * @example
   * ```ts
   * await metrics.loadProcessMetrics();
   * const text = await metrics.registry.metrics(); // with process_start_time_seconds
   * ```
   */
  loadProcessMetrics(): Promise<void> {
    if (!this.#processMetrics) return Promise.resolve();
    this.#processLoaded ??= (async () => {
      const [{ default: collect }, bun] = await Promise.all([
        import("prom-client/lib/defaultMetrics.js"),
        this.#runtimeName === "bun" ? import("./bun-process.ts") : undefined,
      ]);
      const declared = this.registry.getMetricsAsArray();
      (collect as unknown as typeof prom.collectDefaultMetrics)({ register: this.registry });
      for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
      if (bun !== undefined) await bun.correctBunProcessMetrics(this.registry);
      // Re-register the declared metrics (their series stay) so they follow the process metrics.
      for (const metric of declared) {
        this.registry.removeSingleMetric(metric.name);
        this.registry.registerMetric(metric as unknown as prom.Metric);
      }
    })();
    return this.#processLoaded;
  }

  /**
   * Every metric as text: `"prometheus"`, the text exposition format 0.0.4
   * (content type {@linkcode PROMETHEUS_CONTENT_TYPE}), or `"openmetrics"`,
   * OpenMetrics 1.0.0 ({@linkcode OPENMETRICS_CONTENT_TYPE}): a counter's
   * family is named without `_total` (its samples keep it) and the text ends
   * in `# EOF`. Renders one at a time: prom-client renames the counters in
   * place for OpenMetrics, and the names are put back before the next render.
   */
  exposition(format: ExpositionFormat): Promise<string> {
    const run = this.#rendering.then(async () => {
      await this.loadProcessMetrics();
      if (format === "prometheus") return await this.registry.metrics();
      const counters = this.registry.getMetricsAsArray().filter((m) => String(m.type) === "counter");
      const names = counters.map((m) => m.name);
      // prom-client types a registry by its content type; this one switches for the render.
      const registry = this.registry as unknown as Registry<
        typeof OPENMETRICS_CONTENT_TYPE | typeof PROMETHEUS_CONTENT_TYPE
      >;
      registry.setContentType(OPENMETRICS_CONTENT_TYPE);
      try {
        return await this.registry.metrics();
      } finally {
        registry.setContentType(PROMETHEUS_CONTENT_TYPE);
        counters.forEach((m, i) => (m as { name: string }).name = names[i]);
      }
    });
    this.#rendering = run.then(() => {}, () => {});
    return run;
  }

  #rendering: Promise<void> = Promise.resolve();

  /**
   * Name, type, help and label names of every metric in the registry: the
   * declared ones and prom-client's process metrics, in exposition order.
   */
  async metadata(): Promise<MetricMetadata[]> {
    await this.loadProcessMetrics();
    return this.registry.getMetricsAsArray().map((m) => {
      const labels = (m as { labelNames?: readonly string[] }).labelNames ?? [];
      return { name: m.name, type: String(m.type), help: m.help, labels: labels.filter((l) => l !== "le") };
    });
  }
}
