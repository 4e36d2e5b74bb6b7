/**
 * The OpenAPI document without a running listener, for
 * `proxy-server --dump-openapi-spec`: the same app as a listener builds,
 * rendered by the same function, so the text equals what
 * `GET /api-docs/openapi.json` serves.
 *
 * @module
 */

import { ProxyMetrics } from "../metrics/index.ts";
import { createApp } from "./app.ts";
import type { ServiceInfo } from "./context.ts";
import { ServiceHealth } from "./health.ts";
import { renderOpenApi } from "./openapi.ts";

/**
 * The OpenAPI 3.1 document of the HTTP API as JSON text (2-space indent,
 * final newline).
 *
 * @param info the service identity (its `version` is the document's version)
 */
export function openApiText(info: ServiceInfo): Promise<string> {
  // Real parts, so the app is built exactly as a listener builds it; its
  // handlers never run here, only the route descriptions are read.
  const metrics = new ProxyMetrics({
    version: info.version,
    runtime: { name: info.runtime, version: "" },
    processMetrics: false,
  });
  const app = createApp({ info, metrics, health: new ServiceHealth() }, {
    trusted_hosts: [],
    request_body_limit: 1,
    expose_system_info: false,
  });
  return renderOpenApi(app, info);
}
