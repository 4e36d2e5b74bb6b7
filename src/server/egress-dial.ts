/**
 * The outbound side of a session when egress pools are configured: a
 * CONNECT without a preceding BIND from a client whose user or listener
 * names an `egress_pool` goes out through a source of that pool (the user's
 * pool wins); an explicit BIND still pins the source address, and clients
 * with no pool connect directly.
 *
 * Errors keep what the reply needs: a destination failure through an
 * upstream proxy carries the proxy's REP, a direct one its errno `code`;
 * proxy failures and "every source is suspended" carry neither, so the
 * client gets REP 0x01 (general failure) — at once in the suspended case.
 *
 * A CONNECT that goes through a pool records the pool's name in
 * `OutboundRequest.route` (the session copies it to its outcome's
 * `egressPool`); the source within the pool is not reported yet.
 *
 * @module
 */
import type { EgressPool } from "../egress/index.ts";
import type { Dialer } from "./dialer.ts";

/** Options of {@linkcode egressDialer}. */
export interface EgressDialerOptions {
  /** Opens direct connections (BIND-pinned, or clients without a pool). */
  direct: Dialer;
  /** Pools by name. */
  pools: ReadonlyMap<string, EgressPool>;
  /** The `egress_pool` of each user that has one, by username. */
  userPools: ReadonlyMap<string, string>;
}

/**
 * A {@linkcode Dialer} that routes through egress pools; see the module docs.
 * Pool names are checked when the config is loaded; a name missing from
 * `pools` here connects directly.
 */
export function egressDialer(options: EgressDialerOptions): Dialer {
  const { direct, pools, userPools } = options;
  return (request) => {
    if (request.localAddress !== undefined) return direct(request);
    const name = (request.username !== undefined ? userPools.get(request.username) : undefined) ??
      request.egressPool;
    const pool = name === undefined ? undefined : pools.get(name);
    if (pool === undefined) return direct(request);
    request.route = { pool: name! };
    return pool.connect(request.destination, { signal: request.signal, timeout: request.timeout });
  };
}
