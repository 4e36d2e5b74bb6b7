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
    per_user: v.optional(
      v.pipe(
        v.boolean((issue) => `expected true or false, got ${got(issue.input)}`),
        v.description(
          "Keep per-user series: proxy_user_requests_total{user,reply}, " +
            "proxy_user_bytes_client_to_dest_total{user}, proxy_user_bytes_dest_to_client_total{user} " +
            "and proxy_user_auth_failures_total{user} (by the username tried). At most 1000 users " +
            "are kept; the least recently seen is dropped first (proxy_users_evicted_total counts " +
            "them). Default: false.",
        ),
      ),
      false,
    ),
  }, "the metrics settings"),
  v.description("Prometheus metrics settings. Default: {} (all keys at their defaults)."),
);
