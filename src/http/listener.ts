/**
 * Starting the HTTP listeners of `http_listeners`: one Hono app per
 * listener, served on the runtime's native HTTP server.
 *
 * @module
 */

import { getLog } from "../log/index.ts";
import type { HttpServer, NetAddr, Runtime } from "../runtime/index.ts";
import { formatHostPort, NetError } from "../runtime/index.ts";
import { listenerTls, type ListenerTlsConfig } from "../tls/index.ts";
import { createApp } from "./app.ts";
import type { HttpListenerSettings, HttpServices } from "./context.ts";

const log = getLog("http");

/** One HTTP listener as the server needs it (a subset of the `http_listeners` config entry). */
export interface HttpListenerSpec extends HttpListenerSettings, ListenerTlsConfig {
  /** Address to listen on; `text` is the configured `listen` string. */
  listen: { host: string; port: number; text: string };
}

/** The running HTTP listeners. */
export interface HttpListeners {
  /** Bound addresses, in configuration order (the real port when 0 was configured). */
  readonly addrs: NetAddr[];
  /** Stop every listener. */
  close(): Promise<void>;
}

/**
 * Bind every HTTP listener and start serving. Logs `http listener on
 * ADDR:PORT` per listener, with the real port; a `use_tls` listener serves
 * HTTPS with its configured certificate, or a self-signed one for its
 * `hostname` whose SHA-256 fingerprint is logged (as proxy listeners do).
 *
 * @throws {NetError} when a listener cannot be bound (those already bound are closed first).
 */
export async function startHttpListeners(
  runtime: Runtime,
  specs: readonly HttpListenerSpec[],
  services: HttpServices,
): Promise<HttpListeners> {
  const servers: HttpServer[] = [];
  const close = async () => {
    await Promise.all(servers.map((s) => s.close()));
  };
  try {
    for (const spec of specs) {
      const tls = await listenerTls(spec);
      const app = createApp(services, spec);
      const server = await runtime.serveHttp(
        { host: spec.listen.host, port: spec.listen.port, ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}) },
        (request, info) => app.fetch(request, info),
      ).catch((error: Error & { code?: string }) => {
        throw new NetError(
          error.code ?? "EUNKNOWN",
          `cannot listen on ${spec.listen.text}: ${error.code ?? "error"}: ${error.message}`,
          { cause: error },
        );
      });
      servers.push(server);
      const address = formatHostPort(server.addr);
      if (tls?.generated) {
        const { hostname: name, fingerprint } = tls.generated;
        log.info(
          "http listener on {address} (HTTPS, self-signed certificate for {name}, SHA-256 fingerprint {fingerprint})",
          { address, name, fingerprint },
        );
      } else {
        log.info(tls ? "http listener on {address} (HTTPS)" : "http listener on {address}", { address });
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { addrs: servers.map((s) => s.addr), close };
}
