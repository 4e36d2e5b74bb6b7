/**
 * Several proxy-server instances, one view of egress health and one set of
 * limits, on Redis (issue 15). `cli` loads this module (and with it the
 * Redis client) only when `cluster` is configured; it implements the
 * store interfaces egress ({@linkcode SuspensionShare}) and access
 * (`SharedLimits`) declare, so nothing else knows about Redis.
 *
 * @example
 * ```ts
 * const cluster = await startCluster(config.cluster, observer);
 * const registry = new EgressRegistry(spec, { runtime, share: cluster.suspensions });
 * await cluster.suspensions.attach(registry);
 * await ProxyServer.start({ ...options, sharedLimits: cluster.limits });
 * // at shutdown:
 * await cluster.close();
 * ```
 *
 * @module
 */
import { getLog } from "../log/index.ts";
import { formatHostPort } from "../runtime/index.ts";
import { Backend, type ClusterObserver, type ClusterSettings } from "./backend.ts";
import { SharedRedisLimits } from "./limits.ts";
import { SharedSuspensions } from "./suspensions.ts";

export { type ClusterObserver, type ClusterResult, type ClusterSettings, PROBE_INTERVAL_MS } from "./backend.ts";
export { SharedRedisLimits } from "./limits.ts";
export { SharedSuspensions } from "./suspensions.ts";

const log = getLog("cluster");

/** A running cluster member. */
export interface Cluster {
  /** This instance's name. */
  readonly instance: string;
  /** The shared suspensions: give it to each `EgressRegistry` as `share`, then `attach` the registry. */
  readonly suspensions: SharedSuspensions;
  /** The cluster-wide limits: the server's `sharedLimits`. */
  readonly limits: SharedRedisLimits;
  /** Whether Redis answers now. */
  readonly up: boolean;
  /** Stop renewing leases and close the connections. */
  close(): Promise<void>;
}

/**
 * Connect to Redis in the background and return at once: an unreachable
 * Redis is one WARN and local state, never a failed start.
 *
 * @param settings the loaded `cluster` key
 * @param observer receives the backend gauge and the operation counts
 * @param defaultInstance the name when `settings.instance` is not set (the cli passes `HOSTNAME:PID`)
 */
export async function startCluster(
  settings: ClusterSettings,
  observer: ClusterObserver,
  defaultInstance: string,
): Promise<Cluster> {
  const instance = settings.instance ?? defaultInstance;
  const backend = await Backend.open(settings, observer);
  const suspensions = new SharedSuspensions(backend, settings.key_prefix, instance);
  const limits = new SharedRedisLimits(backend, settings.key_prefix, instance, settings.lease_time);
  backend.onUp = async () => {
    await limits.detectCell();
    await suspensions.sync();
  };
  log.info("cluster: instance {instance}, Redis {where}, key prefix {prefix}", {
    instance,
    where: settings.redis.url?.replace(/\/\/[^@/]*@/, "//***@") ??
      (settings.redis.sentinels ?? settings.redis.cluster_nodes ?? []).map(formatHostPort).join(","),
    prefix: settings.key_prefix,
  });
  return {
    instance,
    suspensions,
    limits,
    get up() {
      return backend.up;
    },
    async close() {
      limits.close();
      await backend.close();
    },
  };
}
