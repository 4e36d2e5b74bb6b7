/**
 * {@linkcode Runtime.serveHttp} on Bun: `Bun.serve`, with the client's
 * address taken from `server.requestIP(request)`.
 *
 * @module
 */

import { bunGlobal } from "./api.ts";
import { toNetError } from "../errors.ts";
import type { HttpHandler, HttpServer, ServeHttpOptions } from "../types.ts";

/**
 * Serve `handler` with `Bun.serve` on `options.host`/`options.port`
 * (HTTPS when `options.tls` is set).
 *
 * @throws {NetError} (as a rejection) when the address cannot be bound.
 */
export function bunServeHttp(options: ServeHttpOptions, handler: HttpHandler): Promise<HttpServer> {
  try {
    const { host: hostname, tls } = options;
    const server = bunGlobal().serve({
      hostname,
      port: options.port,
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      fetch(request, server) {
        // null only when the client's socket is already gone.
        const ip = server.requestIP(request);
        return handler(request, { remoteAddr: { host: ip?.address ?? "", port: ip?.port ?? 0 } });
      },
      error: () =>
        new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } }),
    });
    let closing: Promise<void> | undefined;
    return Promise.resolve({
      addr: { host: hostname, port: server.port },
      close(): Promise<void> {
        closing ??= Promise.resolve(server.stop(true));
        return closing;
      },
    });
  } catch (e) {
    return Promise.reject(toNetError(e));
  }
}
