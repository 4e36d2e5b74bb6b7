/**
 * Running the proxy from a loaded config: logging, metrics, HTTP and proxy
 * listeners, signals and the graceful stop.
 *
 * @module
 */
import { type Config, ConfigError } from "../config/index.ts";
import type { HttpListeners, HttpListenerSpec, HttpServices, ServiceHealth, ServicePhase } from "../http/index.ts";
import { configureLogging, getLog, hourlyFileWriter, reopenAccessFile } from "../log/index.ts";
import { AuthMetricsObserver, EgressMetricsObserver, MetricsObserver, ProxyMetrics } from "../metrics/index.ts";
import type { Runtime } from "../runtime/index.ts";
import { configureAuth, ProxyServer, withAccessLog } from "../server/index.ts";
import { BUILD_STAMP, PRODUCT, VERSION } from "./version.ts";
import { serviceInfo } from "./info.ts";
import { buildEgress } from "./egress.ts";
import type { DiagOptions } from "./args.ts";
import type { Cluster, ClusterObserver } from "../cluster/index.ts";
import { hostname } from "node:os";
import process from "node:process";

const log = getLog("cli");

/** The environment variable that overrides `log.filter` (as KumoMTA's `KUMOD_LOG`). */
export const LOG_ENV = "PROXY_SERVER_LOG";

/** KumoProxy's name for {@linkcode LOG_ENV}; read when `PROXY_SERVER_LOG` is unset. */
export const KUMO_LOG_ENV = "KUMO_PROXY_LOG";

/** The cluster's metric signals, on the registry's `proxy_cluster_*` metrics. */
function clusterObserver(metrics: ProxyMetrics): ClusterObserver {
  const m = metrics.set;
  return {
    backendUp: (up) => m.proxy_cluster_backend_up.set(up ? 1 : 0),
    operation: (op, result, seconds) => {
      m.proxy_cluster_operations_total.inc({ op, result });
      if (result !== "down") m.proxy_cluster_operation_duration_seconds.observe({ op }, seconds);
    },
  };
}

/**
 * Join the cluster of `config.cluster`, when there is one: the Redis client
 * is loaded only then (a dynamic import), so a config without `cluster`
 * runs exactly the single-process code.
 */
async function joinCluster(config: Config, metrics: ProxyMetrics): Promise<Cluster | undefined> {
  if (config.cluster === undefined) {
    // An unlabelled gauge reads 0 until set: without a cluster it would say
    // "backend down" to every alert on it, so the series is not exposed.
    metrics.registry.removeSingleMetric("proxy_cluster_backend_up");
    return undefined;
  }
  const { startCluster } = await import("../cluster/index.ts");
  return await startCluster(config.cluster, clusterObserver(metrics), `${hostname()}:${process.pid}`);
}

/**
 * Start serving `config` and resolve with the exit status once a SIGINT or
 * SIGTERM has stopped the server (0), or 1 when a listener cannot be bound.
 * The HTTP listeners start first, so liveness reports "starting" until every
 * proxy listener is bound, and stop last, so it reports "shutting down"
 * during the grace period.
 *
 * SIGUSR1 reopens `log.access_file` (after logrotate moved it away).
 *
 * SIGHUP calls `options.reload` (which re-reads and validates the config
 * file) and applies the result with {@linkcode applyReload}; an invalid file
 * is logged problem by problem and the running configuration stays. Without
 * `options.reload` (KumoProxy's `--listen` mode) SIGHUP is logged and ignored.
 *
 * Once every listener is bound it logs one INFO line,
 * `proxy-server VERSION (RUNTIME VERSION) started with SOURCE`, where
 * SOURCE is `options.source` (the config file, or e.g. `--listen ADDR`).
 */
export async function runProxy(
  runtime: Runtime,
  initial: Config,
  options: { reload?: () => Promise<Config>; source?: string; diag?: DiagOptions } = {},
): Promise<number> {
  let config = initial;
  const write = options.diag?.logDir === undefined ? undefined : hourlyFileWriter(options.diag.logDir);
  const logging = () => ({
    filter: runtime.env(LOG_ENV) ?? runtime.env(KUMO_LOG_ENV) ?? config.log.filter,
    format: options.diag?.format ?? config.log.format,
    write,
    accessFile: config.log.access_file ?? null,
  });
  try {
    configureLogging(logging());
  } catch (error) {
    configureLogging({ ...logging(), accessFile: null });
    log.error("cannot start: cannot open log.access_file: {error}", { error: String(error) });
    return 1;
  }
  const info = serviceInfo(runtime);
  const metrics = new ProxyMetrics({ version: VERSION, runtime, build: BUILD_STAMP });
  // One observer: metrics, plus the access log's line at the end of each session.
  const observer = withAccessLog(
    new MetricsObserver(metrics, {
      maxOutboundDestinations: config.metrics.max_outbound_destinations,
      perUser: config.metrics.per_user,
    }),
  );
  configureAuth({ cacheTtl: config.users_cache_ttl, observer: new AuthMetricsObserver(metrics) });
  // The HTTP app (hono, the OpenAPI document, the docs bundle) is loaded
  // only when an HTTP listener starts; until then the phase is kept here.
  let phase: ServicePhase = "starting";
  let health: ServiceHealth | undefined;
  const setPhase = (next: ServicePhase) => {
    phase = next;
    if (health !== undefined) health.phase = next;
  };
  const startHttp = async (specs: readonly HttpListenerSpec[], services: Omit<HttpServices, "health">) => {
    if (specs.length === 0) return undefined;
    const http = await import("../http/index.ts");
    if (health === undefined) {
      health = new http.ServiceHealth();
      health.phase = phase;
    }
    return await http.startHttpListeners(runtime, specs, { ...services, health });
  };
  let http: HttpListeners | undefined;
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
    setPhase("stopping");
    log.info("{signal}: stopping", { signal });
    server.stop(config.shutdown_grace_period).then(() => egress.registry.stop()).then(async () => {
      await cluster?.close();
      await http?.close();
      log.info("stopped");
      finish(0);
    });
  };
  const unsubscribe = [
    // A rejection nobody handled belongs to one connection at most: log it
    // and keep serving every other one (issue 16).
    runtime.onUnhandledRejection((reason) =>
      log.error("unhandled rejection (the proxy keeps serving): {error}", {
        error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
      })
    ),
    runtime.onSignal("SIGINT", () => stop("SIGINT")),
    runtime.onSignal("SIGTERM", () => stop("SIGTERM")),
    // systemd's ExecReload sends SIGHUP; it must never kill the process.
    runtime.onSignal("SIGHUP", () => void reload()),
    // logrotate's postrotate: reopen log.access_file at its path.
    runtime.onSignal("SIGUSR1", () => {
      try {
        const path = reopenAccessFile();
        if (path !== undefined) log.info("SIGUSR1: reopened the access log file {path}", { path });
      } catch (error) {
        log.error("SIGUSR1: cannot reopen the access log file; still writing the old one: {error}", {
          error: String(error),
        });
      }
    }),
  ];
  const egressObserver = new EgressMetricsObserver(metrics);
  let cluster: Cluster | undefined;
  try {
    cluster = await joinCluster(config, metrics);
  } catch (error) {
    log.error("cannot start: cluster: {error}", { error: error instanceof Error ? error.message : String(error) });
    unsubscribe.forEach((u) => u());
    return 1;
  }
  let egress = buildEgress(runtime, config, egressObserver, cluster?.suspensions);
  void cluster?.suspensions.attach(egress.registry);
  let reloading = Promise.resolve();
  const reload = () =>
    reloading = reloading.then(async () => {
      if (server === undefined || stopping) return;
      if (options.reload === undefined) {
        log.warn("SIGHUP: no config file to reload in --listen mode; the running configuration stays");
        return;
      }
      log.info("SIGHUP: reloading the configuration");
      let next: Config;
      try {
        next = await options.reload();
      } catch (error) {
        const problems = error instanceof ConfigError ? error.message.split("\n") : [String(error)];
        for (const problem of problems) log.error("reload refused: {problem}", { problem });
        log.error("the running configuration stays");
        return;
      }
      if (JSON.stringify(next.cluster) !== JSON.stringify(config.cluster)) {
        log.warn("SIGHUP: the cluster key changed; it applies at the next start (the running cluster settings stay)");
      }
      const nextEgress = buildEgress(runtime, next, egressObserver, cluster?.suspensions);
      try {
        // Read by the UserStore that reconfigure builds for the new users.
        configureAuth({ cacheTtl: next.users_cache_ttl });
        const changes = await server.reconfigure({
          listeners: next.proxy_listeners,
          users: next.users,
          access_rules: next.access_rules,
          default_action: next.default_action,
          dial: nextEgress.dial,
        });
        const oldEgress = egress;
        egress = nextEgress;
        config = next;
        await oldEgress.registry.stop();
        void cluster?.suspensions.attach(egress.registry);
        // The HTTP listeners are rebuilt so the admin routes see the new sources.
        await http?.close();
        http = undefined;
        http = await startHttp(config.http_listeners, { info, metrics, egress: egress.registry })
          .catch((error) => {
            log.error("HTTP listeners could not be restarted after the reload: {error}", { error: String(error) });
            return undefined;
          });
        try {
          configureLogging(logging());
        } catch (error) {
          log.error("reload: cannot open log.access_file, the logging settings stay: {error}", {
            error: String(error),
          });
        }
        log.info("configuration reloaded: proxy listeners added [{added}], removed [{removed}], changed [{changed}]", {
          added: changes.added.join(", "),
          removed: changes.removed.join(", "),
          changed: changes.changed.join(", "),
        });
      } catch (error) {
        await nextEgress.registry.stop();
        log.error("reload failed, the running configuration stays: {error}", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
  try {
    http = await startHttp(config.http_listeners, { info, metrics, egress: egress.registry });
    server = await ProxyServer.start({
      runtime,
      listeners: config.proxy_listeners,
      users: config.users,
      access_rules: config.access_rules,
      default_action: config.default_action,
      // A CONNECT to one of the HTTP listeners is refused like one to a proxy listener.
      selfAddresses: () => http?.addrs ?? [],
      observer,
      dial: egress.dial,
      ...(cluster === undefined ? {} : { sharedLimits: cluster.limits }),
    });
  } catch (error) {
    log.error("cannot start: {error}", { error: error instanceof Error ? error.message : String(error) });
    await http?.close();
    unsubscribe.forEach((u) => u());
    await egress.registry.stop();
    await cluster?.close();
    return 1;
  }
  setPhase("operational");
  log.info("{product} {version} ({runtime}) started with {source}", {
    product: PRODUCT,
    version: VERSION,
    runtime: info.runtime,
    source: options.source ?? "a config",
  });
  if (stopRequested !== undefined) stop(stopRequested);
  // The handlers stay installed until the process exits: a late signal must
  // not turn a clean stop into "killed by SIGTERM".
  return await finished;
}
