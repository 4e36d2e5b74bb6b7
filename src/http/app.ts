/**
 * The Hono app of one HTTP listener: the listener-wide checks
 * (`trusted_hosts` -> 403, `request_body_limit` -> 413), then the routes,
 * each declared with its OpenAPI description next to its handler.
 *
 * @module
 */

import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { compress } from "hono/compress";
import { HTTPException } from "hono/http-exception";
import { ipRestriction } from "hono/ip-restriction";
import { getLog, rateLimited } from "../log/index.ts";
import { adminAuth } from "./auth.ts";
import type { HttpEnv, HttpListenerSettings, HttpServices, RouteContext } from "./context.ts";
import { adminRoutes } from "./routes/admin.ts";
import { docsRoutes } from "./routes/docs.ts";
import { egressRoutes } from "./routes/egress.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";

const log = getLog("http");

/** Seconds between two "refused" lines of one client address. */
export const REFUSED_LOG_INTERVAL_SECONDS = 60;

/** The route modules, in the order their routes appear in the OpenAPI document. */
const ROUTES: readonly ((app: Hono<HttpEnv>, ctx: RouteContext) => void)[] = [
  metricsRoutes,
  healthRoutes,
  adminRoutes,
  egressRoutes,
  docsRoutes,
];

/**
 * Build the app of one HTTP listener. Every answer is gzip- or
 * deflate-compressed when the request's `Accept-Encoding` allows it. Serve it with
 * `runtime.serveHttp(addr, (request, info) => app.fetch(request, info))`:
 * the runtime's `info.remoteAddr` becomes `c.env.remoteAddr`.
 *
 * Answers: 401 (text, with `WWW-Authenticate`) on `/api/admin/*` without
 * valid credentials when `settings.auth` is set; 403 (text) to a client outside `settings.trusted_hosts` on every
 * path (logged at WARN, once per client address per minute, with the count
 * of refusals in between); 413 (text) to a body over `settings.request_body_limit` bytes; 404
 * (text) for unknown paths; 400 (JSON `{ error }`) for a malformed JSON body.
 *
 * @param services the service-wide state (metrics, health, identity)
 * @param settings this listener's settings
 * @example
 * ```ts
 * const app = createApp(services, { trusted_hosts: ["127.0.0.1"], request_body_limit: 2097152, expose_system_info: false });
 * const res = await app.request("/metrics", {}, { remoteAddr: { host: "127.0.0.1", port: 1 } });
 * ```
 */
export function createApp(services: HttpServices, settings: HttpListenerSettings): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  // Per listener: a client refused by one listener's trusted_hosts is news on another.
  const refused = rateLimited(log, REFUSED_LOG_INTERVAL_SECONDS);
  app.use(async (c, next) => {
    await next();
    log.debug("{method} {path} {status} from {client}", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      client: c.env.remoteAddr.host,
    });
  });
  // gzip (or deflate) for a client that asks, on both runtimes (web CompressionStream),
  // as KumoMTA's listener compresses every route.
  app.use(compress());
  app.use(ipRestriction(
    (c) => c.env.remoteAddr.host,
    { allowList: [...settings.trusted_hosts] },
    (remote, c) => {
      refused.warn(remote.addr, "refused {client}: not in trusted_hosts ({method} {path})", {
        client: remote.addr,
        method: c.req.method,
        path: c.req.path,
      });
      return c.text("forbidden\n", 403);
    },
  ));
  // Credentials on top of trusted_hosts, before any body is read.
  if (settings.auth) app.use("/api/admin/*", adminAuth(settings.auth));
  app.use(bodyLimit({
    maxSize: settings.request_body_limit,
    onError: (c) => c.text("request body too large\n", 413),
  }));
  app.notFound((c) => c.text("not found\n", 404));
  app.onError((error, c) => {
    // 403: a client whose address cannot be read; 400: a malformed JSON body.
    if (error instanceof HTTPException) {
      return error.status === 403 ? c.text("forbidden\n", 403) : c.json({ error: error.message }, error.status);
    }
    log.error("{method} {path} failed: {error}", { method: c.req.method, path: c.req.path, error: String(error) });
    return c.text("internal error\n", 500);
  });
  const ctx: RouteContext = { services, settings };
  for (const register of ROUTES) register(app, ctx);
  return app;
}
