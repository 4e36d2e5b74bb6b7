/**
 * {@linkcode Runtime.serveHttp} on Deno: `Deno.serve`, with the client's
 * address taken from the handler's `info.remoteAddr`.
 *
 * @module
 */

import { toNetError } from "../errors.ts";
import type { HttpHandler, HttpServer, ServeHttpOptions } from "../types.ts";

/** Answer of a handler that threw (Deno's default would log to the console). */
function internalError(): Response {
  return new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/**
 * Serve `handler` with `Deno.serve` on `options.host`/`options.port`
 * (HTTPS when `options.tls` is set).
 *
 * @throws {NetError} (as a rejection) when the address cannot be bound.
 */
export function denoServeHttp(options: ServeHttpOptions, handler: HttpHandler): Promise<HttpServer> {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    const { host: hostname, port, tls } = options;
    server = Deno.serve({
      hostname,
      port,
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
      // Without onListen Deno prints "Listening on ..." to stdout.
      onListen: () => {},
      onError: internalError,
    }, (request, info) => {
      const { hostname, port } = info.remoteAddr;
      return handler(request, { remoteAddr: { host: hostname, port } });
    });
  } catch (e) {
    return Promise.reject(toNetError(e));
  }
  let closing: Promise<void> | undefined;
  return Promise.resolve({
    addr: { host: server.addr.hostname, port: server.addr.port },
    close(): Promise<void> {
      closing ??= server.shutdown();
      return closing;
    },
  });
}
