/**
 * An egress source: one way out to destinations (KumoMTA's
 * `kumo.make_egress_source`). {@linkcode EgressSource.connect} opens a
 * connection to a destination through it; a failure is classified (proxy
 * unhealthy, unplumbed, or about the destination: the rules are in
 * `failure.ts`) and feeds its {@linkcode SourceSuspension}.
 *
 * How each kind connects (the sequence kumod uses):
 * - direct: `connect(2)` to the destination, bound first to
 *   `source_address` when set;
 * - SOCKS5: connect to `socks5_proxy_server` (from `source_address` when
 *   set), greeting offering no-auth (and username/password when configured),
 *   RFC 1929, `BIND <socks5_proxy_source_address>:0` when set, `CONNECT`;
 * - HAProxy: connect to `ha_proxy_server`, write a PROXY v2 header from
 *   `ha_proxy_source_address` to the destination, then the stream.
 * A proxy named by DNS is resolved at each connect and every address is tried
 * in turn within the connect timeout, until one works or a failure about the
 * destination stops the attempt; when all fail, their errors are combined
 * into one, which counts once.
 *
 * @module
 */
import { getLog } from "../log/index.ts";
import { type Conn, formatHostPort, ipFamily, type Runtime, timeoutSignal } from "../runtime/index.ts";
import { socks5ClientHandshake, type Socks5Credentials, socks5Probe, type SocksAddress } from "../socks5/index.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { EgressConnectError, SourceSuspendedError } from "./errors.ts";
import {
  type AddressFailure,
  asConnectFailure,
  classifyConnectError,
  classifyHandshakeError,
  combineFailures,
  ConnectFailure,
  errorMessage,
} from "./failure.ts";
import { SourceSuspension } from "./suspension.ts";
import { NULL_EGRESS_OBSERVER, type EgressObserver } from "./observer.ts";
import { proxyV2Header, proxyV2LocalHeader } from "./proxy-v2.ts";
import { type EgressSourceKind, type EgressSourceSpec, formatServer, type ServerAddress, sourceKind } from "./spec.ts";
import { sourceSpecProblems } from "./source-rules.ts";
import { trackConn } from "./tracked-conn.ts";

const log = getLog("egress");

/** Default bound on one connect, seconds (KumoProxy's default listener `timeout`). */
export const DEFAULT_CONNECT_TIMEOUT = 60;

/** Options of {@linkcode EgressSource.connect}. */
export interface EgressConnectOptions {
  /** Abort the attempt (e.g. the listener timeout of the SOCKS5 session that asked). */
  signal?: AbortSignal;
  /**
   * Bound on the whole attempt, every candidate address included, seconds.
   * Default: none beyond `signal` when a signal is given, else 60.
   */
  timeout?: number;
}

/** Options of the {@linkcode EgressSource} constructor. */
export interface EgressSourceOptions {
  /** The runtime to connect with (the server's, or `getRuntime()` of `src/runtime/index.ts`). */
  runtime: Runtime;
  /** Receives the metric signals; default records nothing. */
  observer?: EgressObserver;
  /** Resolves a proxy host name to its addresses; default the system resolver. */
  resolve?: (host: string, family: 0 | 4 | 6) => Promise<string[]>;
  /**
   * Time and timers of its suspension state (expiries, threshold windows);
   * default {@linkcode SYSTEM_CLOCK}. Connect timeouts stay on real time.
   */
  clock?: Clock;
}

/**
 * One signal for a connect attempt: `options.signal` and/or
 * `options.timeout`; 60 s when neither is given.
 */
export function deadline(options: EgressConnectOptions): AbortSignal {
  return timeoutSignal(options.timeout, options.signal, DEFAULT_CONNECT_TIMEOUT);
}

/** One egress source; see the module docs. */
export class EgressSource {
  /** The source's name (the `source` label of its metrics). */
  readonly name: string;
  /** How it leaves: `"direct"`, `"socks5"` or `"haproxy"`. */
  readonly kind: EgressSourceKind;
  /** Its description. */
  readonly spec: Readonly<EgressSourceSpec>;
  /** Its failures and suspension state. */
  readonly suspension: SourceSuspension;
  #runtime: Runtime;
  #observer: EgressObserver;
  #resolve: (host: string, family: 0 | 4 | 6) => Promise<string[]>;

  /**
   * @param name the source's name
   * @param spec how it connects; see {@linkcode EgressSourceSpec}
   * @param options runtime, observer, resolver and clock
   * @throws {TypeError} for a contradictory spec (a rule of
   * {@linkcode sourceSpecProblems} broken: both a SOCKS5 and a HAProxy
   * server, a HAProxy server without `ha_proxy_source_address`, a username
   * without a password or the reverse, a health check without a proxy...),
   * with every problem's message. The config loader reports the same
   * problems before anything is built.
   */
  constructor(name: string, spec: EgressSourceSpec, options: EgressSourceOptions) {
    const problems = sourceSpecProblems(spec);
    if (problems.length > 0) {
      throw new TypeError(`egress source ${name}: ${problems.map((p) => p.message).join("; ")}`);
    }
    this.name = name;
    this.spec = spec;
    this.kind = sourceKind(spec);
    this.#runtime = options.runtime;
    this.#observer = options.observer ?? NULL_EGRESS_OBSERVER;
    this.#resolve = options.resolve ?? ((host, family) => options.runtime.resolve(host, family));
    this.suspension = new SourceSuspension(name, {
      observer: this.#observer,
      clock: options.clock ?? SYSTEM_CLOCK,
      rules: {
        ProxyUnhealthy: spec.suspend_when_proxy_unhealthy,
        Unplumbed: spec.suspend_when_unplumbed,
      },
    });
  }

  /**
   * Open a connection to `destination` through this source. The returned
   * connection counts as active (`egress_source_active_connections`) until
   * it is closed: close it when done.
   *
   * @param destination host (IP literal or DNS name) and port
   * @param options abort signal and/or timeout (seconds; 60 when neither is given)
   * @throws {SourceSuspendedError} at once when the source is suspended.
   * @throws {EgressConnectError} when the connect fails; `kind` says
   * whether it counted against the source (`"ProxyUnhealthy"`,
   * `"Unplumbed"`) or was about the destination (`"Destination"`, with
   * `rep` or `code`).
   * @example
   * ```ts
   * const source = new EgressSource("ip-1", {
   *   socks5_proxy_server: { host: "proxy.example.com", port: 1080 },
   *   socks5_proxy_source_address: "10.0.0.1",
   * }, { runtime: getRuntime() });
   * const conn = await source.connect({ host: "mx.example.com", port: 25 }, { timeout: 30 });
   * ```
   */
  async connect(destination: SocksAddress, options: EgressConnectOptions = {}): Promise<Conn> {
    const suspended = this.suspension.current();
    if (suspended !== undefined) throw new SourceSuspendedError(this.name, suspended.reason, suspended.remaining);
    const signal = deadline(options);
    let opened: { conn: Conn; early?: Uint8Array };
    try {
      opened = await this.#open(destination, signal);
    } catch (error) {
      const failure = asConnectFailure(error, "Destination");
      const failed = new EgressConnectError(
        this.name,
        failure.kind,
        `egress source ${this.name}: connecting to ${formatHostPort(destination)} failed (${failure.kind}): ${failure.message}`,
        failure.extra,
      );
      if (failure.kind !== "Destination") this.suspension.recordFailure(failure.kind);
      log.debug("{message}", { message: failed.message });
      throw failed;
    }
    this.#observer.connectionOpened(this.name);
    return trackConn(opened.conn, () => this.#observer.connectionClosed(this.name), opened.early);
  }

  /**
   * One health check: a connection to the proxy and the exchange a real
   * client starts with (SOCKS5 greeting, RFC 1929 and the BIND of
   * `socks5_proxy_source_address`; for HAProxy a PROXY v2 LOCAL header),
   * then close. Every candidate address is tried until one passes.
   *
   * @param timeout bound on the check, seconds
   * @throws {Error} describing why the proxy failed the check.
   * @throws {TypeError} for a direct source (nothing to check).
   */
  async probe(timeout: number): Promise<void> {
    const signal = AbortSignal.timeout(timeout * 1000);
    const server = this.spec.socks5_proxy_server ?? this.spec.ha_proxy_server;
    if (server === undefined) throw new TypeError(`egress source ${this.name} has no proxy to check`);
    await this.#throughCandidates(server, signal, async (conn) => {
      if (this.kind === "haproxy") await conn.write(proxyV2LocalHeader());
      else await socks5Probe(conn, { ...this.#auth(), signal });
      conn.close();
      return { conn };
    });
  }

  #auth(): { auth?: Socks5Credentials; bindAddress?: string } {
    const { socks5_proxy_username: username, socks5_proxy_password: password } = this.spec;
    return {
      auth: username !== undefined && password !== undefined ? { username, password } : undefined,
      bindAddress: this.spec.socks5_proxy_source_address,
    };
  }

  async #open(destination: SocksAddress, signal: AbortSignal): Promise<{ conn: Conn; early?: Uint8Array }> {
    const spec = this.spec;
    if (spec.socks5_proxy_server !== undefined) {
      return await this.#throughCandidates(spec.socks5_proxy_server, signal, async (conn) => {
        try {
          const { buffered } = await socks5ClientHandshake(conn, { ...this.#auth(), destination, signal });
          return { conn, early: buffered };
        } catch (error) {
          throw classifyHandshakeError(error, signal);
        }
      });
    }
    if (spec.ha_proxy_server !== undefined) {
      const source = spec.ha_proxy_source_address ?? "";
      const family = ipFamily(source);
      let ip: string;
      try {
        [ip] = await this.#resolve(destination.host, family);
      } catch (error) {
        throw new ConnectFailure("Destination", errorMessage(error), { code: "ENOTFOUND", cause: error });
      }
      let header: Uint8Array;
      try {
        header = proxyV2Header(source, ip, destination.port);
      } catch (error) {
        throw new ConnectFailure("Destination", errorMessage(error), { cause: error });
      }
      return await this.#throughCandidates(spec.ha_proxy_server, signal, async (conn) => {
        try {
          await conn.write(header);
        } catch (error) {
          throw new ConnectFailure("ProxyUnhealthy", `sending the PROXY v2 header: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        return { conn };
      });
    }
    try {
      return {
        conn: await this.#runtime.connect({
          host: destination.host,
          port: destination.port,
          localAddress: spec.source_address,
          signal,
        }),
      };
    } catch (error) {
      throw classifyConnectError(error, spec.source_address, "Destination");
    }
  }

  /**
   * Resolve `server`, then for each address: connect (from `source_address`
   * when set) and run `handshake`. The first success wins; a destination
   * failure stops at once; otherwise the per-address failures are combined.
   */
  async #throughCandidates<T extends { conn: Conn }>(
    server: ServerAddress,
    signal: AbortSignal,
    handshake: (conn: Conn) => Promise<T>,
  ): Promise<T> {
    const where = formatServer(server);
    let candidates: string[];
    try {
      candidates = await this.#resolve(server.host, ipFamily(this.spec.source_address ?? ""));
    } catch (error) {
      throw new ConnectFailure("ProxyUnhealthy", `resolving proxy ${where}: ${errorMessage(error)}`, { cause: error });
    }
    const failures: AddressFailure[] = [];
    for (const address of candidates) {
      const label = formatServer({ host: address, port: server.port });
      if (signal.aborted) {
        failures.push({ address: label, failure: new ConnectFailure("ProxyUnhealthy", "connect timed out") });
        break;
      }
      let conn: Conn;
      try {
        conn = await this.#runtime.connect({
          host: address,
          port: server.port,
          localAddress: this.spec.source_address,
          signal,
        });
      } catch (error) {
        failures.push({
          address: label,
          failure: classifyConnectError(error, this.spec.source_address, "ProxyUnhealthy"),
        });
        continue;
      }
      try {
        return await handshake(conn);
      } catch (error) {
        conn.close();
        const failure = asConnectFailure(error, "ProxyUnhealthy");
        if (failure.kind === "Destination") throw failure;
        failures.push({ address: label, failure });
      }
    }
    throw combineFailures(where, failures);
  }
}
