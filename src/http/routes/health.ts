/**
 * Health and status: `GET /proxy/status` (KumoProxy's simple check),
 * `GET /api/check-liveness/v1` (KumoMTA's liveness: 200, or 503 with the
 * reason) and `GET /api/status/v1` (the status document KumoMTA issue #257
 * asked for).
 *
 * @module
 */

import type { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { arch, hostname, release } from "node:os";
import * as v from "valibot";
import type { HttpEnv, RouteContext } from "../context.ts";
import { SERVICE_PHASES } from "../health.ts";
import { COMMON_RESPONSES, jsonResponse, textResponse } from "../schemas.ts";

/** The body of `GET /api/status/v1`. */
export const StatusBody = v.pipe(
  v.object({
    product: v.pipe(v.string(), v.description('Product name, "proxy-server".')),
    version: v.pipe(v.string(), v.description("Semantic version.")),
    build: v.pipe(v.string(), v.description('Build identifier ("source" when run from source).')),
    runtime: v.pipe(v.string(), v.description('Runtime and its version, e.g. "bun 1.4.5".')),
    status: v.pipe(
      v.picklist(SERVICE_PHASES),
      v.description('"starting", "operational" (every proxy listener accepts) or "stopping".'),
    ),
    started_at: v.pipe(v.string(), v.isoTimestamp(), v.description("When the service started, ISO 8601 (UTC).")),
    uptime_seconds: v.pipe(v.number(), v.minValue(0), v.description("Seconds since started_at.")),
    system: v.optional(v.pipe(
      v.object({
        hostname: v.pipe(v.string(), v.description("The host's name.")),
        kernel: v.pipe(v.string(), v.description("The kernel release (uname -r).")),
        architecture: v.pipe(v.string(), v.description('CPU architecture, e.g. "x64", "arm64".')),
      }),
      v.description("Present only when the listener sets expose_system_info: true."),
    )),
  }),
  v.description("What runs, since when, and in which phase."),
);

/** The body of `GET /proxy/status`, byte for byte KumoProxy's (`proxy_status` in its proxy-server crate). */
export const KUMOPROXY_STATUS_BODY = "KumoProxy OK";

/** Register the health and status routes on `app`. */
export function healthRoutes(app: Hono<HttpEnv>, { services, settings }: RouteContext): void {
  const { health, info } = services;
  app.get(
    "/proxy/status",
    describeRoute({
      operationId: "getProxyStatus",
      tags: ["health"],
      summary: "Simple health check",
      description: "200 with the body KumoProxy answers, `KumoProxy OK`, while the process serves HTTP " +
        "(KumoProxy's /proxy/status, so checks written for KumoProxy keep working). The phase and the " +
        "rest are at /api/status/v1.",
      responses: { 200: textResponse("The process is up.", KUMOPROXY_STATUS_BODY), ...COMMON_RESPONSES },
    }),
    (c) => c.text(KUMOPROXY_STATUS_BODY),
  );
  app.get(
    "/api/check-liveness/v1",
    describeRoute({
      operationId: "checkLiveness",
      tags: ["health"],
      summary: "Liveness check",
      description: "200 when every configured proxy listener accepts clients; 503 with the reason in " +
        "the body while starting or shutting down (as KumoMTA's /api/check-liveness/v1).",
      responses: {
        200: textResponse("Every proxy listener accepts clients.", "ok\n"),
        503: textResponse(
          "Not ready; the body says why.",
          "shutting down: the proxy listeners no longer accept clients\n",
        ),
        ...COMMON_RESPONSES,
      },
    }),
    (c) => {
      const live = health.liveness();
      return live.ok ? c.text("ok\n") : c.text(`${live.reason}\n`, 503);
    },
  );
  app.get(
    "/api/status/v1",
    describeRoute({
      operationId: "getStatus",
      tags: ["health"],
      summary: "Service status",
      description: "Product, version, build, runtime, phase, start time and uptime. Host details " +
        "(name, kernel, architecture) only where the listener sets expose_system_info.",
      responses: { 200: jsonResponse("The status document.", StatusBody), ...COMMON_RESPONSES },
    }),
    (c) => {
      const body: v.InferOutput<typeof StatusBody> = {
        product: info.product,
        version: info.version,
        build: info.build,
        runtime: info.runtime,
        status: health.phase,
        started_at: info.startedAt.toISOString(),
        uptime_seconds: Math.max(0, (Date.now() - info.startedAt.getTime()) / 1000),
      };
      if (settings.expose_system_info) body.system = { hostname: hostname(), kernel: release(), architecture: arch() };
      return c.json(body);
    },
  );
}
