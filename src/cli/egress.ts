/**
 * Building the egress side of the proxy from a loaded config: the registry
 * of sources and pools (with health checks started) and the dialer that
 * sends clients with an `egress_pool` through it.
 *
 * @module
 */
import type { Config } from "../config/index.ts";
import { type EgressObserver, EgressRegistry, type SuspensionShare } from "../egress/index.ts";
import type { Runtime } from "../runtime/index.ts";
import { type Dialer, directDialer, egressDialer } from "../server/index.ts";

/** What {@linkcode buildEgress} returns. */
export interface BuiltEgress {
  /** Every source and pool; its health checks are running. */
  registry: EgressRegistry;
  /** The dialer to give the server: pools for clients that have one, else direct. */
  dial: Dialer;
}

/**
 * Build the {@linkcode EgressRegistry} of `config.sources` / `config.pools`,
 * start its health checks, and wrap `runtime.connect` into a dialer that
 * routes by `egress_pool` (a user's wins over the listener's).
 *
 * @param observer receives the egress metric signals (default: none)
 * @param share where suspensions are shared with other instances (`cluster`); default none
 */
export function buildEgress(
  runtime: Runtime,
  config: Config,
  observer?: EgressObserver,
  share?: SuspensionShare,
): BuiltEgress {
  const registry = new EgressRegistry({ sources: config.sources, pools: config.pools }, { runtime, observer, share });
  registry.startHealthChecks();
  const userPools = new Map<string, string>();
  for (const user of config.users) if (user.egress_pool !== undefined) userPools.set(user.username, user.egress_pool);
  const dial = egressDialer({
    pools: registry.pools,
    userPools,
    direct: directDialer(runtime),
  });
  return { registry, dial };
}
