/**
 * `/metrics.json` in KumoMTA's shape (its `kumo_prometheus` registry's
 * `stream_json`, served by kumod and KumoProxy): one object keyed by metric
 * name, each `{ "help", "type", "value" }`, where `value` is
 *
 * - `null` when the metric has no series yet;
 * - the number, for a metric without labels;
 * - `{ LABEL: { LABEL_VALUE: number } }` for a metric with one label, e.g.
 *   `{ "listener": { "127.0.0.1:1080": 3 } }`;
 * - `[{ LABEL1: VALUE1, LABEL2: VALUE2, "@": number }, ...]` for a metric
 *   with several labels, one object per series, labels in declaration order
 *   (KumoMTA's form for several labels, which keeps every series on one
 *   level instead of nesting one level per label).
 *
 * A histogram's number is replaced, wherever it would stand, by KumoMTA's
 * histogram object `{ "count", "sum", "avg", "bucket": [[le, cumulative
 * count], ...] }` (`avg` = `sum / count`, 0 when nothing was observed;
 * `bucket` in increasing `le`, without the `+Inf` bucket, which equals
 * `count`). A summary (none is exported today) has `value: null`, as in KumoMTA.
 *
 * @module
 */

import type { MetricObjectWithValues, MetricValue, MetricValueWithName, Registry } from "prom-client";

/** KumoMTA's JSON form of one histogram series. */
export interface HistogramJson {
  /** Observations. */
  count: number;
  /** Sum of the observed values, in the metric's unit. */
  sum: number;
  /** `sum / count`, 0 when `count` is 0. */
  avg: number;
  /** `[upper bound, observations <= bound]` per finite bucket, increasing. */
  bucket: [number, number][];
}

/** The value of one series: a number, or a histogram object. */
export type SeriesJson = number | HistogramJson | null;

/** One series of a metric with several labels: its labels and `"@"`, its value. */
export type MultiLabelSeriesJson = { [label: string]: string | SeriesJson };

/** One metric in `/metrics.json`. */
export interface MetricJson {
  /** The `# HELP` text (left out when empty, as KumoMTA does). */
  help?: string;
  /** `counter`, `gauge`, `histogram` or `summary`. */
  type: string;
  /** The series, shaped by the number of labels (see the module docs). */
  value: SeriesJson | { [label: string]: { [labelValue: string]: SeriesJson } } | MultiLabelSeriesJson[];
}

/** The whole `/metrics.json` body, keyed by metric name. */
export type MetricsJson = Record<string, MetricJson>;

/** Label values as strings, in `order` (then any others). */
function orderedLabels(labels: Partial<Record<string, string | number>>, order: readonly string[]): [string, string][] {
  const present = (n: string) => labels[n] !== undefined;
  const names = [...order.filter(present), ...Object.keys(labels).filter((n) => present(n) && !order.includes(n))];
  return names.map((n) => [n, String(labels[n])]);
}

/** JSON has no Infinity or NaN; such a value becomes null, as JSON.stringify would make it. */
function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** One series of a family: its labels (without `le`) and its value. */
interface Series {
  labels: [string, string][];
  value: SeriesJson;
}

/** The series of a counter or gauge. */
function plainSeries(values: MetricValue<string>[], order: readonly string[]): Series[] {
  return values.map((v) => ({ labels: orderedLabels(v.labels, order), value: finite(v.value) }));
}

/** The series of a histogram: its `_bucket`, `_sum` and `_count` samples grouped by labels. */
function histogramSeries(name: string, values: MetricValueWithName<string>[], order: readonly string[]): Series[] {
  const groups = new Map<string, { labels: [string, string][]; h: HistogramJson }>();
  for (const v of values) {
    const { le, ...rest } = v.labels;
    const labels = orderedLabels(rest, order);
    const key = JSON.stringify(labels);
    let group = groups.get(key);
    if (!group) groups.set(key, group = { labels, h: { count: 0, sum: 0, avg: 0, bucket: [] } });
    const sample = v.metricName ?? name;
    if (sample.endsWith("_bucket")) {
      const bound = Number(le);
      if (Number.isFinite(bound)) group.h.bucket.push([bound, v.value]);
    } else if (sample.endsWith("_sum")) {
      group.h.sum = v.value;
    } else if (sample.endsWith("_count")) {
      group.h.count = v.value;
    }
  }
  return [...groups.values()].map(({ labels, h }) => {
    h.bucket.sort((a, b) => a[0] - b[0]);
    h.avg = h.count === 0 ? 0 : h.sum / h.count;
    return { labels, value: h };
  });
}

/** A family's `value` from its series (see the module docs). */
function shape(series: Series[]): MetricJson["value"] {
  if (series.length === 0) return null;
  const first = series[0].labels;
  if (first.length === 0) return series[0].value;
  if (first.length === 1) {
    const byValue: Record<string, SeriesJson> = {};
    for (const s of series) byValue[s.labels[0]?.[1] ?? ""] = s.value;
    return { [first[0][0]]: byValue };
  }
  return series.map((s) => ({ ...Object.fromEntries(s.labels), "@": s.value }));
}

/**
 * Every metric of `registry` in KumoMTA's `/metrics.json` shape (see the
 * module docs), in registry order.
 *
 * @example
 * ```ts
 * const body = await metricsJson(metrics.registry);
 * body.proxy_active_connections; // { help: "...", type: "gauge", value: { listener: { "127.0.0.1:1080": 0 } } }
 * ```
 */
export async function metricsJson(registry: Registry): Promise<MetricsJson> {
  const families = (await registry.getMetricsAsJSON()) as MetricObjectWithValues<MetricValueWithName<string>>[];
  const out: MetricsJson = {};
  for (const family of families) {
    const declared = registry.getSingleMetric(family.name) as { labelNames?: readonly string[] } | undefined;
    const order = declared?.labelNames ?? [];
    const type = String(family.type);
    const value = type === "histogram"
      ? shape(histogramSeries(family.name, family.values, order))
      : type === "summary"
      ? null
      : shape(plainSeries(family.values, order));
    out[family.name] = { ...(family.help ? { help: family.help } : {}), type, value };
  }
  return out;
}
