/**
 * The HTTP listeners: metrics, health, status, the runtime log filter,
 * egress source administration (list, suspend, clear), the OpenAPI document
 * and interactive docs, on Hono.
 *
 * @example
 * ```ts
 * import { ServiceHealth, startHttpListeners } from "./http/index.ts";
 * const health = new ServiceHealth();
 * const http = await startHttpListeners(runtime, config.http_listeners, { info, metrics, health, egress: registry });
 * health.phase = "operational";
 * // ...
 * await http.close();
 * ```
 *
 * @module
 */
export { createApp } from "./app.ts";
export type {
  HttpAuthSettings,
  HttpBasicAccount,
  HttpEnv,
  HttpListenerSettings,
  HttpServices,
  ServiceInfo,
} from "./context.ts";
export { AUTH_REALM, WWW_AUTHENTICATE } from "./auth.ts";
export { type MetricsJson, metricsJson } from "./metrics-json.ts";
export { type Liveness, SERVICE_PHASES, ServiceHealth, type ServicePhase } from "./health.ts";
export { type HttpListeners, type HttpListenerSpec, startHttpListeners } from "./listener.ts";
export { API_TITLE, renderOpenApi } from "./openapi.ts";
export { openApiText } from "./dump.ts";
