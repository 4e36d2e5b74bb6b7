/**
 * `metrics`: settings of the Prometheus metrics the HTTP listeners expose.
 *
 * @module
 */

import * as v from "valibot";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";

/** Default `metrics.max_outbound_destinations`. */
export const DEFAULT_MAX_OUTBOUND_DESTINATIONS = 1000;

/** `metrics`: `{ "max_outbound_destinations" }`, with its default. */
export const MetricsSchema = v.pipe(
  strictObject({
    max_outbound_destinations: v.optional(
      v.pipe(
        v.number(),
        v.integer((issue) => `expected a whole number, got ${got(issue.input)}`),
        v.minValue(1, (issue) => `expected at least 1, got ${got(issue.input)}`),
        v.description(
          "Cap on the series of proxy_outbound_connections_total{listener,destination}: at most " +
            "this many distinct (listener, destination) pairs are kept; when a new one would " +
            "exceed the cap, the least recently used series is dropped (and " +
            "proxy_outbound_destinations_evicted_total goes up). Bounds the metric's cardinality " +
            "however many destinations clients reach. Default: 1000.",
        ),
      ),
      DEFAULT_MAX_OUTBOUND_DESTINATIONS,
    ),
  }, "the metrics settings"),
  v.description("Prometheus metrics settings. Default: {} (all keys at their defaults)."),
);
