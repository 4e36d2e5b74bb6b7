/**
 * `proxy-server --healthcheck`: check the first proxy listener of a config
 * (or of a `--listen` address) with a real SOCKS5 greeting, for Docker's
 * HEALTHCHECK and Kubernetes exec probes.
 *
 * Exit status: 0 healthy, 1 for anything else, a config that cannot be
 * loaded included. Never 2: Docker reserves exit code 2 of a health check.
 *
 * @module
 */
import { type Config, ConfigError, type ConfigIo, loadConfig, parseConfig } from "../config/index.ts";
import type { Runtime } from "../runtime/index.ts";
import { checkListener } from "../server/index.ts";

/** Environment variable holding the RFC 1929 username `--healthcheck` offers. */
export const HEALTHCHECK_USERNAME_ENV = "PROXY_SERVER_HEALTHCHECK_USERNAME";
/** Environment variable holding the RFC 1929 password `--healthcheck` offers. */
export const HEALTHCHECK_PASSWORD_ENV = "PROXY_SERVER_HEALTHCHECK_PASSWORD";

/** Where the output goes (stdout for the healthy line, stderr otherwise). */
export interface HealthcheckOutput {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Run the check and return the exit status (0 healthy, 1 not).
 *
 * @param target `{ config: FILE }` to check that config's first proxy
 *   listener, `{ listen: ADDR }` for a legacy `--listen` address (no auth,
 *   no TLS).
 * @param timeoutSeconds bound on the whole check.
 */
export async function healthcheck(
  runtime: Runtime,
  io: ConfigIo,
  target: { config: string } | { listen: string },
  timeoutSeconds: number,
  output: HealthcheckOutput,
): Promise<0 | 1> {
  let config: Config;
  try {
    config = "config" in target
      ? await loadConfig(target.config, io)
      : await parseConfig({ proxy_listeners: [{ listen: target.listen }] }, "--listen", io);
  } catch (error) {
    output.err(error instanceof ConfigError ? error.message : String(error));
    output.err("unhealthy: cannot load the configuration");
    return 1;
  }
  const username = runtime.env(HEALTHCHECK_USERNAME_ENV);
  const password = runtime.env(HEALTHCHECK_PASSWORD_ENV);
  if ((username === undefined) !== (password === undefined)) {
    output.err(`unhealthy: set both ${HEALTHCHECK_USERNAME_ENV} and ${HEALTHCHECK_PASSWORD_ENV}, or neither`);
    return 1;
  }
  const listener = config.proxy_listeners[0];
  const result = await checkListener({
    runtime,
    listener,
    timeout: timeoutSeconds,
    ...(username !== undefined ? { credentials: { username, password: password ?? "" } } : {}),
  });
  if (result.healthy) {
    output.out(`healthy: ${result.message}`);
    return 0;
  }
  const hint = listener.require_auth && username === undefined
    ? ` (set ${HEALTHCHECK_USERNAME_ENV} and ${HEALTHCHECK_PASSWORD_ENV})`
    : "";
  output.err(`unhealthy: ${result.message}${hint}`);
  return 1;
}
