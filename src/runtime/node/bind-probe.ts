/**
 * A cheap check that a local address can be bound, for KumoMTA's
 * `BIND <source-ip>:0` (`Runtime.probeBind`). Neither runtime can
 * create a bound but unconnected TCP socket, so the probe binds a UDP socket
 * (`node:dgram`, in both runtimes) to `<address>:0`: the kernel applies the
 * same "is this address local?" rule to both protocols and answers
 * EADDRNOTAVAIL for an address the host lacks.
 *
 * Successful probes are remembered for {@linkcode PROBE_CACHE_SECONDS} so a
 * busy sender does not pay a syscall round per message, in a least-recently
 * used cache of at most {@linkcode PROBE_CACHE_MAX} addresses: a client
 * naming ever new source addresses cannot grow it without bound (a plain map
 * kept 200,000 addresses, 19 MiB of heap, forever). Failures are not cached.
 *
 * @module
 */
import { createSocket } from "node:dgram";
import { isIP } from "node:net";
import { LRUCache } from "lru-cache";
import { NetError } from "../errors.ts";

/** How long a successful probe is trusted, seconds. */
export const PROBE_CACHE_SECONDS = 10;

/** At most this many successfully probed addresses are remembered (least recently used go first). */
export const PROBE_CACHE_MAX = 4096;

/**
 * Bind a throw-away socket to `<address>:0` and close it: resolves when the
 * bind succeeded, rejects with the bind's error (carrying `code`) otherwise.
 */
export type BindFunction = (address: string, family: 4 | 6) => Promise<void>;

/** Options of {@linkcode createBindProbe}. */
export interface BindProbeOptions {
  /** The bind to run on a cache miss (default: a `node:dgram` UDP socket, see the module doc). */
  bind?: BindFunction;
  /** Cache bound, addresses (default {@linkcode PROBE_CACHE_MAX}). */
  max?: number;
  /** How long a success is trusted, seconds (default {@linkcode PROBE_CACHE_SECONDS}). */
  ttlSeconds?: number;
}

/** A bind probe with its cache, as made by {@linkcode createBindProbe}. */
export interface BindProbe {
  /** See `Runtime.probeBind`. */
  probe(address: string): Promise<void>;
  /** Addresses currently cached (successes not yet expired or evicted). */
  readonly size: number;
}

/** {@linkcode BindFunction} with a `node:dgram` UDP socket. */
export function udpBind(address: string, family: 4 | 6): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = createSocket(family === 6 ? "udp6" : "udp4");
    socket.once("error", (error: Error) => {
      socket.close();
      reject(error);
    });
    socket.bind({ address, port: 0, exclusive: true }, () => {
      socket.close();
      resolve();
    });
  });
}

/**
 * A bind probe with its own bounded success cache.
 *
 * @example
 * ```ts
 * const probe = createBindProbe({ max: 2 });
 * await probe.probe("127.0.0.1");
 * console.log(probe.size); // 1
 * ```
 */
export function createBindProbe(options: BindProbeOptions = {}): BindProbe {
  const bind = options.bind ?? udpBind;
  const known = new LRUCache<string, true>({
    max: options.max ?? PROBE_CACHE_MAX,
    ttl: (options.ttlSeconds ?? PROBE_CACHE_SECONDS) * 1000,
  });
  return {
    async probe(address: string): Promise<void> {
      const family = isIP(address);
      if (family === 0) throw new NetError("EINVAL", `${JSON.stringify(address)} is not an IP address`);
      if (known.get(address)) return;
      try {
        await bind(address, family === 6 ? 6 : 4);
      } catch (e) {
        const error = e as Error & { code?: string };
        throw new NetError(error.code ?? "EADDRNOTAVAIL", `cannot bind ${address}: ${error.message}`, {
          cause: error,
        });
      }
      known.set(address, true);
    },
    get size(): number {
      return known.size;
    },
  };
}

/** The process-wide probe behind {@linkcode probeBind}. */
const shared = createBindProbe();

/**
 * Resolve when `address` (an IP literal) can be bound on this host; the
 * implementation of `Runtime.probeBind` on both runtimes.
 *
 * @example
 * ```ts
 * await probeBind("127.0.0.1");
 * ```
 * @throws {NetError} `EINVAL` for a non-IP string, `EADDRNOTAVAIL` (or the
 * kernel's own code) when the host does not have the address.
 */
export function probeBind(address: string): Promise<void> {
  return shared.probe(address);
}
