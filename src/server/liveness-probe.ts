/**
 * The liveness probe of a running proxy listener, as `proxy-server
 * --healthcheck` performs it for Docker's HEALTHCHECK or a Kubernetes exec
 * probe: connect (with TLS when the listener uses it), send a real SOCKS5
 * greeting (RFC 1928 §3) and, with credentials, authenticate (RFC 1929).
 * No destination is contacted.
 *
 * @module
 */
import type { Runtime } from "../runtime/index.ts";
import { type Socks5Credentials, socks5Probe } from "../socks5/index.ts";
import { formatHostPort } from "../runtime/index.ts";
import type { ProxyListenerSpec } from "./listener-spec.ts";

/** Options of {@linkcode checkListener}. */
export interface HealthcheckOptions {
  /** Connects to the listener. */
  runtime: Runtime;
  /** The listener to check (its `listen`, `require_auth` and `use_tls` are used). */
  listener: Pick<ProxyListenerSpec, "listen" | "require_auth" | "use_tls" | "hostname">;
  /** RFC 1929 credentials to offer; required when the listener has `require_auth`. */
  credentials?: Socks5Credentials;
  /** Bound on the whole check, seconds. */
  timeout: number;
}

/** Outcome of {@linkcode checkListener}. */
export interface HealthcheckResult {
  /** true when the listener answered the greeting (and accepted the credentials, if offered). */
  healthy: boolean;
  /** One line for the operator: what was checked and what happened. */
  message: string;
}

/**
 * The address a local client uses to reach a listener: the listen address
 * itself, or loopback for a wildcard (`0.0.0.0` → `127.0.0.1`, `::` → `::1`).
 */
export function localTarget(listen: { host: string; port: number }): { host: string; port: number } {
  const host = listen.host === "0.0.0.0" ? "127.0.0.1" : listen.host === "::" ? "::1" : listen.host;
  return { host, port: listen.port };
}

/**
 * Check one proxy listener. A TLS listener is reached over TLS without
 * verifying its certificate (the question is liveness, and a generated
 * certificate changes at every start). Never rejects.
 *
 * @returns healthy when the proxy selected a method (0x00, or 0x02 and then
 *   accepted the credentials) within `timeout` seconds.
 */
export async function checkListener(options: HealthcheckOptions): Promise<HealthcheckResult> {
  const { listener, credentials } = options;
  const target = localTarget(listener.listen);
  const where = `${formatHostPort(target)}${listener.use_tls ? " (TLS)" : ""}`;
  if (target.port === 0) {
    return {
      healthy: false,
      message: `cannot check ${listener.listen.text}: port 0 is chosen at start and unknown here`,
    };
  }
  if (listener.require_auth && !credentials) {
    return {
      healthy: false,
      message: `cannot check ${where}: the listener requires authentication and no credentials were given`,
    };
  }
  const signal = AbortSignal.timeout(options.timeout * 1000);
  let conn;
  try {
    conn = await options.runtime.connect({
      ...target,
      signal,
      ...(listener.use_tls
        ? { tls: { verify: false, ...(listener.hostname ? { serverName: listener.hostname } : {}) } }
        : {}),
    });
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { healthy: false, message: `cannot connect to ${where}: ${e.code ?? "error"}: ${e.message}` };
  }
  try {
    const result = await socks5Probe(conn, { ...(credentials ? { auth: credentials } : {}), signal });
    const how = credentials
      ? "and accepted the username/password"
      : `(method 0x${result.method.toString(16).padStart(2, "0")})`;
    return { healthy: true, message: `${where} answered the SOCKS5 greeting ${how}` };
  } catch (error) {
    return { healthy: false, message: `${where} did not pass the SOCKS5 check: ${(error as Error).message}` };
  } finally {
    conn.close();
  }
}
