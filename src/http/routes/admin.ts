/**
 * `POST /api/admin/set_diagnostic_log_filter/v1`: change the diagnostic log
 * filter at run time, without restart (KumoMTA's endpoint of the same name).
 *
 * @module
 */

import type { Hono } from "hono";
import { describeRoute, validator } from "hono-openapi";
import * as v from "valibot";
import { currentLogFilter, getLog, parseLogFilter, setLogFilter } from "../../log/index.ts";
import type { HttpEnv, RouteContext } from "../context.ts";
import { COMMON_RESPONSES, ErrorBody, jsonResponse, rejectInvalid } from "../schemas.ts";

const log = getLog("http");

/** The request body: the new filter, checked with the same parser logging uses. */
export const SetLogFilterRequest = v.object({
  filter: v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      try {
        parseLogFilter(dataset.value);
      } catch (error) {
        addIssue({ message: error instanceof Error ? error.message : String(error) });
      }
    }),
    v.description(
      'Comma-separated directives "LEVEL" or "TARGET=LEVEL" (LEVEL: trace, debug, info, warn, ' +
        'error, off), as KumoMTA\'s log filters, e.g. "proxy_server=debug".',
    ),
    v.examples(["proxy_server=debug", "proxy_server=info,proxy_server::server=trace"]),
  ),
});

/** The answer: the filter now in force and the one it replaced. */
export const SetLogFilterResponse = v.object({
  filter: v.pipe(v.string(), v.description("The filter now in force.")),
  previous: v.pipe(v.string(), v.description("The filter it replaced.")),
});

/** Register the admin routes on `app`. */
export function adminRoutes(app: Hono<HttpEnv>, _ctx: RouteContext): void {
  app.post(
    "/api/admin/set_diagnostic_log_filter/v1",
    describeRoute({
      operationId: "setDiagnosticLogFilter",
      tags: ["admin"],
      summary: "Change the diagnostic log filter",
      description: "Replaces the log filter at once, without restart. A filter that does not parse " +
        "gets 400 and the old filter stays.",
      responses: {
        200: jsonResponse("The filter was changed.", SetLogFilterResponse),
        400: jsonResponse('The body is not {"filter": FILTER} with a valid filter.', ErrorBody),
        ...COMMON_RESPONSES,
      },
    }),
    validator("json", SetLogFilterRequest, rejectInvalid),
    (c) => {
      const { filter } = c.req.valid("json");
      const previous = currentLogFilter();
      setLogFilter(filter);
      log.info("diagnostic log filter changed from {previous} to {filter}", { previous, filter });
      return c.json({ filter, previous });
    },
  );
}
