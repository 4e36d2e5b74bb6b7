/**
 * `GET /metrics` (Prometheus text exposition) and `GET /metrics.json` (the
 * same metrics as JSON), as KumoProxy's HTTP listener serves them.
 *
 * @module
 */

import type { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { HttpEnv, RouteContext } from "../context.ts";
import { COMMON_RESPONSES, jsonResponse } from "../schemas.ts";

/** One sample of a metric family in `/metrics.json`. */
const MetricValue = v.object({
  value: v.pipe(v.number(), v.description("The sample's value.")),
  labels: v.pipe(v.record(v.string(), v.union([v.string(), v.number()])), v.description("Label names and values.")),
  metricName: v.optional(
    v.pipe(v.string(), v.description("Sample name when it differs from the family's (histogram _bucket, _sum, _count).")),
  ),
});

/** The body of `/metrics.json`: prom-client's JSON form of the registry. */
export const MetricsJsonBody = v.pipe(
  v.array(v.object({
    name: v.pipe(v.string(), v.description("Metric family name.")),
    help: v.pipe(v.string(), v.description("The # HELP text.")),
    type: v.pipe(v.picklist(["counter", "gauge", "histogram", "summary"]), v.description("Prometheus type.")),
    values: v.array(MetricValue),
    aggregator: v.pipe(v.string(), v.description("How prom-client aggregates the metric across workers.")),
  })),
  v.description("Every metric family with its samples."),
);

/** Register the metrics routes on `app`. */
export function metricsRoutes(app: Hono<HttpEnv>, { services }: RouteContext): void {
  const { registry } = services.metrics;
  app.get(
    "/metrics",
    describeRoute({
      operationId: "getMetrics",
      tags: ["metrics"],
      summary: "Prometheus metrics",
      description: "Every metric in the Prometheus text exposition format (version 0.0.4): the proxy_* " +
        "metrics labelled by listener, and the process metrics (process_start_time_seconds, ...).",
      responses: {
        200: {
          description: "The metrics.",
          content: { [registry.contentType]: { schema: { type: "string" }, example: "proxy_active_connections{listener=\"127.0.0.1:1080\"} 0\n" } },
        },
        ...COMMON_RESPONSES,
      },
    }),
    async (c) => c.body(await registry.metrics(), 200, { "content-type": registry.contentType }),
  );
  app.get(
    "/metrics.json",
    describeRoute({
      operationId: "getMetricsJson",
      tags: ["metrics"],
      summary: "Metrics as JSON",
      description: "The same metrics as /metrics, as a JSON array of metric families.",
      responses: { 200: jsonResponse("The metrics.", MetricsJsonBody), ...COMMON_RESPONSES },
    }),
    async (c) => c.json(await registry.getMetricsAsJSON()),
  );
}
