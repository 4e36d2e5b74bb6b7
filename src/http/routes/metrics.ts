/**
 * `GET /metrics` (Prometheus text exposition, or OpenMetrics when the
 * scraper asks for it) and `GET /metrics.json` (the same metrics in
 * KumoMTA's JSON shape), as KumoProxy's HTTP listener serves them. Both are
 * gzip-compressed for a client that sends `Accept-Encoding: gzip` (the
 * app-wide compression in `app.ts`).
 *
 * @module
 */

import type { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { type ExpositionFormat, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from "../../metrics/index.ts";
import type { HttpEnv, RouteContext } from "../context.ts";
import { metricsJson } from "../metrics-json.ts";
import { COMMON_RESPONSES, jsonResponse } from "../schemas.ts";

/** Media type of OpenMetrics text, as a scraper names it in `Accept`. */
const OPENMETRICS_TYPE = "application/openmetrics-text";

/**
 * The exposition format an `Accept` header asks for: `"openmetrics"` when
 * it lists `application/openmetrics-text` (any version) with a quality
 * above 0 and at least that of `text/plain` and of the wildcards, as
 * Prometheus' own header does
 * (`application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1`);
 * else `"prometheus"` (also without an `Accept` header).
 */
export function negotiateExposition(accept: string | undefined): ExpositionFormat {
  if (!accept) return "prometheus";
  let open = 0;
  let other = 0;
  for (const part of accept.split(",")) {
    const [type = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === OPENMETRICS_TYPE) open = Math.max(open, q);
    else if (type === "text/plain" || type === "text/*" || type === "*/*") other = Math.max(other, q);
  }
  return open > 0 && open >= other ? "openmetrics" : "prometheus";
}

/** A number, or `null` where JSON cannot hold the value (NaN, infinities). */
const Num = v.nullable(v.number());

/** KumoMTA's form of one histogram series. */
const HistogramValue = v.pipe(
  v.object({
    count: v.pipe(v.number(), v.description("Observations.")),
    sum: v.pipe(v.number(), v.description("Sum of the observed values, in the metric's unit.")),
    avg: v.pipe(v.number(), v.description("sum / count; 0 when count is 0.")),
    bucket: v.pipe(
      v.array(v.tuple([v.number(), v.number()])),
      v.description("[upper bound, observations <= bound] per finite bucket, increasing (+Inf is count)."),
    ),
  }),
  v.description("A histogram series."),
);

/** One series' value: a number, or a histogram object. */
const SeriesValue = v.union([Num, HistogramValue]);

/** The body of `/metrics.json`: KumoMTA's shape. */
export const MetricsJsonBody = v.pipe(
  v.record(
    v.string(),
    v.object({
      help: v.optional(v.pipe(v.string(), v.description("The # HELP text."))),
      type: v.pipe(v.picklist(["counter", "gauge", "histogram", "summary"]), v.description("Prometheus type.")),
      value: v.pipe(
        v.union([
          SeriesValue,
          v.record(v.string(), v.record(v.string(), SeriesValue)),
          v.array(v.record(v.string(), v.union([v.string(), SeriesValue]))),
        ]),
        v.description(
          "null: no series yet; a number (or histogram object): no labels; " +
            '{ LABEL: { LABEL_VALUE: number } }: one label, e.g. { "listener": { "127.0.0.1:1080": 3 } }; ' +
            '[{ LABEL1: VALUE1, LABEL2: VALUE2, "@": number }]: several labels, one object per series.',
        ),
      ),
    }),
  ),
  v.description("Every metric, keyed by name, as KumoMTA's /metrics.json."),
  v.examples([{
    proxy_active_connections: {
      help: "Client connections open now (handshakes and tunnels).",
      type: "gauge",
      value: { listener: { "127.0.0.1:1080": 3 } },
    },
    proxy_outbound_destinations_evicted_total: {
      help: "Series of proxy_outbound_connections_total dropped to keep it within metrics.max_outbound_destinations.",
      type: "counter",
      value: 0,
    },
  }]),
);

/** Register the metrics routes on `app`. */
export function metricsRoutes(app: Hono<HttpEnv>, { services }: RouteContext): void {
  const { metrics } = services;
  const example = 'proxy_active_connections{listener="127.0.0.1:1080"} 0\n';
  app.get(
    "/metrics",
    describeRoute({
      operationId: "getMetrics",
      tags: ["metrics"],
      summary: "Prometheus metrics",
      description: "Every metric in the Prometheus text exposition format (version 0.0.4): the proxy_* " +
        "metrics labelled by listener, the egress_source_* metrics labelled by source, and the process " +
        "metrics (process_start_time_seconds, ...). A scraper whose Accept header prefers " +
        "application/openmetrics-text (as Prometheus' does) gets OpenMetrics 1.0.0 instead. " +
        "Gzip-compressed when the request says Accept-Encoding: gzip.",
      responses: {
        200: {
          description: "The metrics.",
          content: {
            [PROMETHEUS_CONTENT_TYPE]: { schema: { type: "string" }, example },
            [OPENMETRICS_CONTENT_TYPE]: {
              schema: { type: "string" },
              example: "# TYPE proxy_connections_accepted counter\n" +
                'proxy_connections_accepted_total{listener="127.0.0.1:1080"} 0\n# EOF\n',
            },
          },
        },
        ...COMMON_RESPONSES,
      },
    }),
    async (c) => {
      const format = negotiateExposition(c.req.header("accept"));
      const type = format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
      return c.body(await metrics.exposition(format), 200, { "content-type": type, vary: "Accept" });
    },
  );
  app.get(
    "/metrics.json",
    describeRoute({
      operationId: "getMetricsJson",
      tags: ["metrics"],
      summary: "Metrics as JSON",
      description: "The same metrics as /metrics, in KumoMTA's /metrics.json shape: an object keyed by " +
        'metric name, each { "help", "type", "value" }. A histogram\'s value is { "count", "sum", "avg", ' +
        '"bucket": [[le, cumulative count], ...] } where a number would stand. ' +
        "Gzip-compressed when the request says Accept-Encoding: gzip.",
      responses: { 200: jsonResponse("The metrics.", MetricsJsonBody), ...COMMON_RESPONSES },
    }),
    async (c) => {
      await metrics.loadProcessMetrics();
      return c.json(await metricsJson(metrics.registry));
    },
  );
}
