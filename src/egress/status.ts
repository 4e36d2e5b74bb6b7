/**
 * The state of one egress source as the registry reports it and the admin
 * API lists it (`GET /api/admin/egress/sources/v1`): declared once, as a
 * valibot schema, with the TypeScript type inferred from it. The HTTP layer
 * uses the schema for the route's OpenAPI description; egress fills it in
 * ({@linkcode EgressRegistry.status}), so the two cannot drift apart.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * const status: SourceStatus = registry.status("ip-1");
 * v.parse(SourceStatusSchema, status); // passes
 * ```
 *
 * @module
 */
import * as v from "valibot";
import type { EgressSourceKind } from "./spec.ts";

/** Every source kind, for the `kind` enum (a `Record` so that a new kind must be added here). */
const KINDS: Record<EgressSourceKind, true> = { direct: true, socks5: true, haproxy: true };

/** One egress source and its state; each field's description is its documentation. */
export const SourceStatusSchema = v.pipe(
  v.object({
    name: v.pipe(v.string(), v.description("The source's name (its key in sources).")),
    kind: v.pipe(
      v.picklist(Object.keys(KINDS) as EgressSourceKind[]),
      v.description('"direct", "socks5" (socks5_proxy_server) or "haproxy" (ha_proxy_server).'),
    ),
    healthy: v.pipe(
      v.boolean(),
      v.description(
        "Usable: its health check, if any, passes and it is not suspended (the egress_source_healthy gauge).",
      ),
    ),
    suspended: v.pipe(v.boolean(), v.description("Pool selection skips it now.")),
    reason: v.pipe(
      v.nullable(v.string()),
      v.description(
        'Reason of the suspension in force ("ProxyUnhealthy", "Unplumbed", "HealthCheck" or an operator\'s), else null.',
      ),
    ),
    remaining_seconds: v.pipe(
      v.nullable(v.number()),
      v.description(
        "Seconds until the suspension ends by itself; null when not suspended or when it waits for a passing health check.",
      ),
    ),
    active_connections: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("Connections through it open now."),
    ),
    failures_in_window: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("Classified failures (ProxyUnhealthy, Unplumbed) in the last window_seconds."),
    ),
    window_seconds: v.pipe(
      v.number(),
      v.description(
        "The window of failures_in_window: the longest Threshold period of its suspend_when_* rules, else 300.",
      ),
    ),
    health_check: v.pipe(v.boolean(), v.description("Whether a health_check is configured.")),
    cluster_wide: v.optional(v.pipe(
      v.boolean(),
      v.description(
        "With cluster, while suspended: whether the suspension is shared with every instance (rule and " +
          "operator suspensions are; HealthCheck ones stay local).",
      ),
    )),
    suspended_by: v.optional(v.pipe(
      v.nullable(v.string()),
      v.description("With cluster, while suspended: the cluster.instance that set the suspension."),
    )),
  }),
  v.description("An egress source and its state."),
);

/**
 * One source as the registry reports it: name, kind, `healthy`,
 * `suspended` with `reason` and `remaining_seconds`, `active_connections`,
 * `failures_in_window` over `window_seconds`, `health_check`. See
 * {@linkcode SourceStatusSchema} for each field.
 */
export type SourceStatus = v.InferOutput<typeof SourceStatusSchema>;
