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
 * in turn within `connect_timeout`, until one works or a failure about the
 * destination stops the attempt; when all fail, their errors are combined
 * into one, which counts once.
 *
 * Time bounds (`handshake-deadline.ts`): reaching a proxy and the steps
 * before CONNECT get `connect_timeout` (default a quarter of the caller's
 * timeout); the first byte of the CONNECT reply gets whatever the caller
 * allows (a proxy waiting for a slow destination is not unhealthy); a reply
 * that started gets `connect_timeout` to complete.
 *
 * One file because it is one class, `EgressSource`: its connect paths
 * (direct, SOCKS5 upstream, HAProxy) share the suspension, the per-source
 * deadline and the failure classification, and splitting them would spread
 * one source's state over files (failure classes and the deadline already
 * live in `failure.ts` and `handshake-deadline.ts`).
 *
 * @module
 */
import { getLog } from "../log/index.ts";
import { type Conn, formatHostPort, ipFamily, raceAbort, type Runtime } from "../runtime/index.ts";
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
import type { SuspensionShare } from "./shared.ts";
import { defaultConnectTimeout, HandshakeWatch } from "./handshake-deadline.ts";
import { type EgressObserver, NULL_EGRESS_OBSERVER } from "./observer.ts";
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
   * Bound on the whole attempt, every candidate address (and, for a pool,
   * every source) included, seconds; with `signal` too, whichever ends
   * first. It is also what a source's default `connect_timeout` is a
   * quarter of: a caller whose `signal` carries a listener timeout passes
   * that timeout here as well. Default: none beyond `signal` when a signal
   * is given (the default `connect_timeout` is then a quarter of 60 s), else
   * 60.
   */
  timeout?: number;
  /**
   * Called with the name of the source that made the connection, just
   * before `EgressPool.connect` resolves (the access log's
   * `egress_source`).
   */
  onSource?: (source: string) => void;
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
  /** Where its suspensions are shared with other instances (`cluster`); default none. */
  share?: SuspensionShare;
}

/** The bound of a connect attempt: its signal, the budget it stands for, and the timer to clear. */
export interface ConnectDeadline {
  /** Aborted by `options.signal` or when `options.timeout` runs out (reason: a `TimeoutError`). */
  signal: AbortSignal;
  /** Seconds the whole attempt may take, as far as known (`options.timeout`, else 60). */
  budget: number;
  /** Clear the timer (call it when the attempt is over, whatever its outcome). */
  dispose(): void;
}

/**
 * The bound of a connect attempt: `options.signal` and/or `options.timeout`;
 * 60 s when neither is given. The timer is a cleared one, not an
 * `AbortSignal.timeout` that would stay pending for the whole timeout after
 * a quick connect.
 */
export function deadline(options: EgressConnectOptions): ConnectDeadline {
  const { signal: outer, timeout } = options;
  const budget = timeout ?? DEFAULT_CONNECT_TIMEOUT;
  if (timeout === undefined && outer !== undefined) return { signal: outer, budget, dispose: () => {} };
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener("abort", onOuter, { once: true });
  const timer = setTimeout(() => {
    const reason = new Error(`the connect did not complete within ${budget}s`);
    reason.name = "TimeoutError";
    controller.abort(reason);
  }, Math.min(budget * 1000, 2 ** 31 - 1));
  return {
    signal: controller.signal,
    budget,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuter);
    },
  };
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
      share: options.share,
      shareFailures: spec.share_failure_windows === true,
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
   * A proxy source bounds reaching its proxy and the steps before CONNECT
   * by `connect_timeout` (default: a quarter of `options.timeout`), and the
   * rest of a CONNECT reply whose first byte came by the same; running past
   * either is a `"ProxyUnhealthy"` failure. No CONNECT reply at all before
   * the caller's deadline is a destination time-out (`code` `"ETIMEDOUT"`).
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
    const bound = deadline(options);
    let opened: { conn: Conn; early?: Uint8Array };
    try {
      opened = await this.#open(destination, bound.signal, this.connectTimeout(bound.budget));
    } catch (error) {
      const failure = asConnectFailure(error, "Destination");
      const failed = new EgressConnectError(
        this.name,
        failure.kind,
        `egress source ${this.name}: connecting to ${
          formatHostPort(destination)
        } failed (${failure.kind}): ${failure.message}`,
        failure.extra,
      );
      if (failure.kind !== "Destination" && failure.kind !== "Local") this.suspension.recordFailure(failure.kind);
      log.debug("{message}", { message: failed.message });
      throw failed;
    } finally {
      bound.dispose();
    }
    this.#observer.connectionOpened(this.name);
    return trackConn(opened.conn, () => this.#observer.connectionClosed(this.name), opened.early);
  }

  /**
   * The `connect_timeout` this source applies to a connect that may take
   * `budget` seconds in all: the configured one, else
   * {@linkcode defaultConnectTimeout} of `budget` (a quarter).
   *
   * @param budget the caller's timeout, seconds
   * @returns seconds
   */
  connectTimeout(budget: number): number {
    return this.spec.connect_timeout ?? defaultConnectTimeout(budget);
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
    await this.#throughCandidates(server, signal, timeout, async (conn) => {
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

  async #open(
    destination: SocksAddress,
    signal: AbortSignal,
    connectTimeout: number,
  ): Promise<{ conn: Conn; early?: Uint8Array }> {
    const spec = this.spec;
    if (spec.socks5_proxy_server !== undefined) {
      return await this.#throughCandidates(spec.socks5_proxy_server, signal, connectTimeout, async (conn, watch) => {
        try {
          const { buffered } = await socks5ClientHandshake(watch.wrap(conn), {
            ...this.#auth(),
            destination,
            signal: watch.signal,
          });
          return { conn, early: buffered };
        } catch (error) {
          throw classifyHandshakeError(error, watch);
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
      return await this.#throughCandidates(spec.ha_proxy_server, signal, connectTimeout, async (conn, watch) => {
        try {
          await raceAbort(conn.write(header), watch.signal, () => {});
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
   * Resolving, connecting and the handshake up to CONNECT share one
   * deadline, `connectTimeout` seconds from now; each address gets a
   * {@linkcode HandshakeWatch} on what remains of it.
   */
  async #throughCandidates<T extends { conn: Conn }>(
    server: ServerAddress,
    signal: AbortSignal,
    connectTimeout: number,
    handshake: (conn: Conn, watch: HandshakeWatch) => Promise<T>,
  ): Promise<T> {
    const where = formatServer(server);
    const deadlineAt = performance.now() + connectTimeout * 1000;
    const watchNext = () => new HandshakeWatch(signal, connectTimeout, deadlineAt - performance.now());
    let candidates: string[];
    const resolving = watchNext();
    try {
      candidates = await raceAbort(
        this.#resolve(server.host, ipFamily(this.spec.source_address ?? "")),
        resolving.signal,
        () => {},
      );
    } catch (error) {
      const why = resolving.expired !== undefined
        ? `not resolved within connect_timeout ${connectTimeout}s`
        : errorMessage(error);
      throw new ConnectFailure("ProxyUnhealthy", `resolving proxy ${where}: ${why}`, { cause: error });
    } finally {
      resolving.dispose();
    }
    const failures: AddressFailure[] = [];
    for (const address of candidates) {
      const label = formatServer({ host: address, port: server.port });
      const watch = watchNext();
      try {
        if (watch.signal.aborted) {
          const why = watch.expired !== undefined
            ? `connect_timeout ${connectTimeout}s ran out before this address was tried`
            : "connect timed out";
          failures.push({ address: label, failure: new ConnectFailure("ProxyUnhealthy", why) });
          break;
        }
        let conn: Conn;
        try {
          conn = await this.#runtime.connect({
            host: address,
            port: server.port,
            localAddress: this.spec.source_address,
            signal: watch.signal,
          });
        } catch (error) {
          const failure = classifyConnectError(error, this.spec.source_address, "ProxyUnhealthy");
          // Out of descriptors here: every other address would fail the same, and it is not the proxy's fault.
          if (failure.kind === "Local") throw failure;
          failures.push({
            address: label,
            failure: watch.expired === undefined ? failure : new ConnectFailure(
              failure.kind,
              `no connection within connect_timeout ${connectTimeout}s`,
              failure.extra,
            ),
          });
          continue;
        }
        try {
          return await handshake(conn, watch);
        } catch (error) {
          conn.close();
          const failure = asConnectFailure(error, "ProxyUnhealthy");
          if (failure.kind === "Destination") throw failure;
          failures.push({ address: label, failure });
        }
      } finally {
        watch.dispose();
      }
    }
    throw combineFailures(where, failures);
  }
}
