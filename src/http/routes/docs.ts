/**
 * `GET /api-docs/openapi.json` (the generated OpenAPI document) and
 * `GET /rapidoc` (interactive docs by Scalar, with the browser bundle served
 * from `/rapidoc/scalar.js` by proxy-server itself, not from a CDN).
 *
 * @module
 */

import type { Hono } from "hono";
import { Scalar } from "@scalar/hono-api-reference";
import { describeRoute } from "hono-openapi";
import type { HttpEnv, RouteContext } from "../context.ts";
import { API_TITLE, renderOpenApi } from "../openapi.ts";
import { COMMON_RESPONSES } from "../schemas.ts";

/** Path of the OpenAPI document. */
export const OPENAPI_PATH = "/api-docs/openapi.json";

/** Path of the Scalar browser bundle the `/rapidoc` page loads. */
export const SCALAR_BUNDLE_PATH = "/rapidoc/scalar.js";

/** Register the docs routes on `app` (the OpenAPI document covers every route of `app`). */
export function docsRoutes(app: Hono<HttpEnv>, { services }: RouteContext): void {
  let spec: Promise<string> | undefined;
  app.get(
    OPENAPI_PATH,
    describeRoute({
      operationId: "getOpenApi",
      tags: ["docs"],
      summary: "OpenAPI document",
      description: "This API as an OpenAPI 3.1 document, generated from the route definitions " +
        "(the same text as proxy-server --dump-openapi-spec).",
      responses: {
        200: { description: "The OpenAPI document.", content: { "application/json": { schema: { type: "object" } } } },
        ...COMMON_RESPONSES,
      },
    }),
    async (c) => {
      // Generated on first use, once every route is registered.
      spec ??= renderOpenApi(app, services.info);
      return c.body(await spec, 200, { "content-type": "application/json; charset=utf-8" });
    },
  );
  app.get(
    "/rapidoc",
    describeRoute({
      operationId: "getApiReference",
      tags: ["docs"],
      summary: "Interactive API docs",
      description: "An HTML page (Scalar API reference) rendering the OpenAPI document. Everything " +
        "it loads is served by proxy-server, so it works without internet access.",
      responses: {
        200: { description: "The page.", content: { "text/html": { schema: { type: "string" } } } },
        ...COMMON_RESPONSES,
      },
    }),
    Scalar({
      url: OPENAPI_PATH,
      cdn: SCALAR_BUNDLE_PATH,
      pageTitle: API_TITLE,
      // Scalar's default fonts come from its CDN; the system fonts need no network.
      withDefaultFonts: false,
      telemetry: false,
      // Hosted Scalar services (AI agent, sharing, deploying) need the internet; this page must not.
      agent: { disabled: true },
      showDeveloperTools: "never",
    }),
  );
  app.get(
    SCALAR_BUNDLE_PATH,
    describeRoute({
      operationId: "getApiReferenceBundle",
      tags: ["docs"],
      summary: "Scalar browser bundle",
      description: "The JavaScript of the /rapidoc page (@scalar/api-reference, shipped with proxy-server).",
      responses: {
        200: { description: "The script.", content: { "text/javascript": { schema: { type: "string" } } } },
        ...COMMON_RESPONSES,
      },
    }),
    async (c) => {
      // Loaded on first request: the 3.5 MB bundle cost every HTTP listener's
      // start 20-80 ms of parsing (issue 14), for a page few ever open.
      const { SCALAR_BUNDLE } = await import("../scalar-bundle.ts");
      return c.body(SCALAR_BUNDLE, 200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "public, max-age=86400",
      });
    },
  );
}
