/**
 * Running the proxy from a loaded config: logging, listeners, signals and the
 * graceful stop.
 *
 * @module
 */
import type { Config } from "../config/index.ts";
import { configureLogging, getLog } from "../log/index.ts";
import type { Runtime } from "../runtime/types.ts";
import { ProxyServer } from "../server/index.ts";

const log = getLog("cli");

/** The environment variable that overrides `log.filter` (as KumoMTA's `KUMOD_LOG`). */
export const LOG_ENV = "PROXY_SERVER_LOG";

/**
 * Start serving `config` and resolve with the exit status once a SIGINT or
 * SIGTERM has stopped the server (0), or 1 when a listener cannot be bound.
 * SIGHUP is logged and otherwise ignored (reload is not implemented yet).
 */
export async function runProxy(runtime: Runtime, config: Config): Promise<number> {
  configureLogging({ filter: runtime.env(LOG_ENV) ?? config.log.filter, format: config.log.format });
  // Signal handlers go in before any listener is bound, so a stop that
  // arrives right after the "proxy listener on" line is never lost.
  let server: ProxyServer | undefined;
  let stopRequested: string | undefined;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => finish = resolve);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn("{signal} again: exiting now", { signal });
      finish(0);
      return;
    }
    if (server === undefined) {
      stopRequested = signal;
      return;
    }
    stopping = true;
    log.info("{signal}: stopping", { signal });
    server.stop(config.shutdown_grace_period).then(() => {
      log.info("stopped");
      finish(0);
    });
  };
  const unsubscribe = [
    runtime.onSignal("SIGINT", () => stop("SIGINT")),
    runtime.onSignal("SIGTERM", () => stop("SIGTERM")),
    // systemd's ExecReload sends SIGHUP; until reloading exists it must not
    // kill the process (the default action of SIGHUP).
    runtime.onSignal("SIGHUP", () => {
      log.warn("SIGHUP: reloading the configuration is not available yet; the running configuration stays");
    }),
  ];
  try {
    server = await ProxyServer.start({
      runtime,
      listeners: config.proxy_listeners,
      users: config.users,
    });
  } catch (error) {
    log.error("cannot start: {error}", { error: error instanceof Error ? error.message : String(error) });
    unsubscribe.forEach((u) => u());
    return 1;
  }
  if (stopRequested !== undefined) stop(stopRequested);
  // The handlers stay installed until the process exits: a late signal must
  // not turn a clean stop into "killed by SIGTERM".
  return await finished;
}
