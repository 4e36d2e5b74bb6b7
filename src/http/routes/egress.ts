/**
 * The egress admin routes: `GET /api/admin/egress/sources/v1` lists every
 * egress source with its state, `POST
 * /api/admin/egress/sources/{name}/suspend/v1` suspends one by hand (as
 * KumoMTA's admin suspensions, with its duration syntax), `DELETE` on the
 * same path clears a suspension. They call the {@linkcode EgressRegistry}'s
 * `list`, `suspend` and `clear`.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { describeRoute, validator } from "hono-openapi";
import * as v from "valibot";
import { durationString as duration } from "../../config/schema/duration.ts";
import {
  DEFAULT_ADMIN_REASON,
  type EgressRegistry,
  InvalidSuspensionError,
  REASON_PATTERN,
  type SourceStatus,
  SourceStatusSchema,
  UnknownSourceError,
} from "../../egress/index.ts";
import type { HttpEnv, RouteContext } from "../context.ts";
import { COMMON_RESPONSES, ErrorBody, jsonResponse, rejectInvalid } from "../schemas.ts";

/** The body of `GET /api/admin/egress/sources/v1`. */
export const SourceListBody = v.pipe(
  v.object({ sources: v.array(SourceStatusSchema) }),
  v.description("Every egress source, in configuration order."),
);

/** The path parameter of the suspend routes. */
const SourceParam = v.object({
  name: v.pipe(v.string(), v.description("The source's name (its key in sources).")),
});

/**
 * The body of `POST /api/admin/egress/sources/{name}/suspend/v1`: how long
 * (KumoMTA's duration syntax, parsed by the config's parser to SECONDS) and
 * why (the `reason` label of the suspension metrics).
 */
export const SuspendRequest = v.strictObject({
  duration: duration(
    'How long the source stays suspended, e.g. "10m", "1h 30m"; more than 0 and at most 2147483 seconds. ' +
      "It comes back by itself when the time is up.",
  ),
  reason: v.optional(
    v.pipe(
      v.string(),
      v.regex(REASON_PATTERN, 'expected 1 to 64 letters, digits, "_", ".", ":" or "-"'),
      v.description(
        `Why; becomes the reason label of egress_source_health_suspended and ` +
          `egress_source_health_suspensions_total. Default "${DEFAULT_ADMIN_REASON}".`,
      ),
      v.examples(["maintenance"]),
    ),
  ),
});

const NOT_FOUND = jsonResponse("There is no egress source of that name.", ErrorBody);

/**
 * Answer with the source state `act` returns, 404 for an
 * {@linkcode UnknownSourceError}, 400 for an {@linkcode InvalidSuspensionError}.
 */
function answer(c: Context, act: () => SourceStatus): Response {
  try {
    return c.json(act());
  } catch (error) {
    if (error instanceof UnknownSourceError) return c.json({ error: error.message }, 404);
    if (error instanceof InvalidSuspensionError) return c.json({ error: error.message }, 400);
    throw error;
  }
}

/** The registry's surface the routes call; without a registry, one with no source. */
type AdminSurface = Pick<EgressRegistry, "list" | "suspend" | "clear">;

/** A registry without sources: lists nothing, every name is unknown. */
const NO_SOURCES: AdminSurface = {
  list: () => [],
  suspend: (name) => {
    throw new UnknownSourceError(name);
  },
  clear: (name) => {
    throw new UnknownSourceError(name);
  },
};

/** Register the egress admin routes on `app`; without `services.egress` they see no source. */
export function egressRoutes(app: Hono<HttpEnv>, { services }: RouteContext): void {
  const registry: AdminSurface = services.egress ?? NO_SOURCES;
  app.get(
    "/api/admin/egress/sources/v1",
    describeRoute({
      operationId: "listEgressSources",
      tags: ["admin"],
      summary: "List egress sources",
      description: "Every egress source with its kind, health, suspension (reason and seconds remaining), " +
        "active connections and classified failures in the current window.",
      responses: { 200: jsonResponse("The sources.", SourceListBody), ...COMMON_RESPONSES },
    }),
    (c) => {
      const body: v.InferOutput<typeof SourceListBody> = { sources: registry.list() };
      return c.json(body);
    },
  );
  const path = "/api/admin/egress/sources/:name/suspend/v1";
  app.post(
    path,
    describeRoute({
      operationId: "suspendEgressSource",
      tags: ["admin"],
      summary: "Suspend an egress source",
      description: "Pool selection skips the source until the duration is up or the suspension is cleared. " +
        "Same signals as an automatic suspension: egress_source_health_suspended{source,reason} = 1, " +
        "egress_source_health_suspensions_total + 1 (unless it is already suspended for the same reason, " +
        "which only moves the end), a WARN log line. Suspension is process-local.",
      responses: {
        200: jsonResponse("The source is suspended; its new state.", SourceStatusSchema),
        400: jsonResponse(
          "The body is not { duration, reason? } with a positive duration and a valid reason.",
          ErrorBody,
        ),
        404: NOT_FOUND,
        ...COMMON_RESPONSES,
      },
    }),
    validator("param", SourceParam, rejectInvalid),
    validator("json", SuspendRequest, rejectInvalid),
    (c) => {
      const { duration, reason } = c.req.valid("json");
      return answer(c, () => registry.suspend(c.req.valid("param").name, duration, reason));
    },
  );
  app.delete(
    path,
    describeRoute({
      operationId: "clearEgressSourceSuspension",
      tags: ["admin"],
      summary: "Clear an egress source's suspension",
      description: "Ends the suspension in force now, whatever its reason (egress_source_health_suspended " +
        "goes to 0, an INFO log line). A source that is not suspended is left as it is. A source whose " +
        "health check keeps failing is suspended again by its next failed check.",
      responses: {
        200: jsonResponse("The source's new state (not suspended).", SourceStatusSchema),
        404: NOT_FOUND,
        ...COMMON_RESPONSES,
      },
    }),
    validator("param", SourceParam, rejectInvalid),
    (c) => answer(c, () => registry.clear(c.req.valid("param").name)),
  );
}
