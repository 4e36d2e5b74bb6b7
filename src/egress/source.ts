/**
 * An egress source: one way out to destinations (KumoMTA's
 * `kumo.make_egress_source`). {@linkcode EgressSource.connect} opens a
 * connection to a destination through it, classifies a failure (proxy
 * unhealthy, unplumbed, or about the destination) and feeds its
 * {@linkcode SourceHealth}.
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
import { getRuntime } from "../runtime/index.ts";
import { type Conn, formatHostPort, type Runtime, timeoutSignal } from "../runtime/index.ts";
import {
  Socks5ClientError,
  socks5ClientHandshake,
  type Socks5Credentials,
  socks5Probe,
  type SocksAddress,
} from "../socks5/index.ts";
import { type ConnectFailureClass, EgressConnectError, type FailureKind, SourceSuspendedError } from "./errors.ts";
import { SourceHealth } from "./health.ts";
import { NULL_EGRESS_OBSERVER, type EgressObserver } from "./observer.ts";
import { proxyV2Header, proxyV2LocalHeader } from "./proxy-v2.ts";
import { type EgressSourceKind, type EgressSourceSpec, formatServer, type ServerAddress, sourceKind } from "./spec.ts";
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
  /** The runtime to connect with; default {@linkcode getRuntime}(). */
  runtime?: Runtime;
  /** Receives the metric signals; default records nothing. */
  observer?: EgressObserver;
  /** Resolves a proxy host name to its addresses; default the system resolver. */
  resolve?: (host: string, family: 0 | 4 | 6) => Promise<string[]>;
}

/** A failure of one step, before classification. */
class StepFailure extends Error {
  constructor(
    readonly kind: ConnectFailureClass,
    message: string,
    readonly extra: { code?: string; rep?: number; cause?: unknown } = {},
  ) {
    super(message);
  }
}

/** Errno names of a local bind that failed because the address is not on this host. */
const UNPLUMBED_CODES = new Set(["EADDRNOTAVAIL", "EINVAL"]);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** 4 or 6 for an IP literal, else 0. */
function ipFamily(address: string | undefined): 0 | 4 | 6 {
  if (address === undefined) return 0;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(address)) return 4;
  return address.includes(":") ? 6 : 0;
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
  readonly health: SourceHealth;
  #runtime: Runtime | undefined;
  #observer: EgressObserver;
  #resolve: (host: string, family: 0 | 4 | 6) => Promise<string[]>;

  /**
   * @param name the source's name
   * @param spec how it connects; see {@linkcode EgressSourceSpec}
   * @param options runtime, observer and resolver
   * @throws {TypeError} for a contradictory spec (both a SOCKS5 and a
   * HAProxy server, a HAProxy server without `ha_proxy_source_address`, a
   * username without a password or the reverse, a health check without a
   * proxy). The config loader reports these before anything is built.
   */
  constructor(name: string, spec: EgressSourceSpec, options: EgressSourceOptions = {}) {
    const problem = specProblem(spec);
    if (problem !== undefined) throw new TypeError(`egress source ${name}: ${problem}`);
    this.name = name;
    this.spec = spec;
    this.kind = sourceKind(spec);
    this.#runtime = options.runtime;
    this.#observer = options.observer ?? NULL_EGRESS_OBSERVER;
    this.#resolve = options.resolve ?? ((host, family) => this.#rt.resolve(host, family));
    this.health = new SourceHealth(name, {
      observer: this.#observer,
      rules: {
        ProxyUnhealthy: spec.suspend_when_proxy_unhealthy,
        Unplumbed: spec.suspend_when_unplumbed,
      },
    });
  }

  get #rt(): Runtime {
    return this.#runtime ??= getRuntime();
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
   * });
   * const conn = await source.connect({ host: "mx.example.com", port: 25 }, { timeout: 30 });
   * ```
   */
  async connect(destination: SocksAddress, options: EgressConnectOptions = {}): Promise<Conn> {
    const suspended = this.health.suspension();
    if (suspended !== undefined) throw new SourceSuspendedError(this.name, suspended.reason, suspended.remaining);
    const signal = deadline(options);
    let opened: { conn: Conn; early?: Uint8Array };
    try {
      opened = await this.#open(destination, signal);
    } catch (error) {
      const failure = error instanceof StepFailure
        ? error
        : new StepFailure("Destination", describe(error), { code: errorCode(error), cause: error });
      const failed = new EgressConnectError(
        this.name,
        failure.kind,
        `egress source ${this.name}: connecting to ${formatHostPort(destination)} failed (${failure.kind}): ${failure.message}`,
        failure.extra,
      );
      if (failure.kind !== "Destination") this.health.recordFailure(failure.kind);
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
        throw new StepFailure("Destination", describe(error), { code: "ENOTFOUND", cause: error });
      }
      let header: Uint8Array;
      try {
        header = proxyV2Header(source, ip, destination.port);
      } catch (error) {
        throw new StepFailure("Destination", describe(error), { cause: error });
      }
      return await this.#throughCandidates(spec.ha_proxy_server, signal, async (conn) => {
        try {
          await conn.write(header);
        } catch (error) {
          throw new StepFailure("ProxyUnhealthy", `sending the PROXY v2 header: ${describe(error)}`, { cause: error });
        }
        return { conn };
      });
    }
    try {
      return {
        conn: await this.#rt.connect({
          host: destination.host,
          port: destination.port,
          localAddress: spec.source_address,
          signal,
        }),
      };
    } catch (error) {
      throw this.#connectFailure(error, "Destination");
    }
  }

  /** A failed `connect(2)`: unplumbed when the local bind failed, else `otherwise`. */
  #connectFailure(error: unknown, otherwise: ConnectFailureClass): StepFailure {
    const code = errorCode(error);
    if (this.spec.source_address !== undefined && code !== undefined && UNPLUMBED_CODES.has(code)) {
      return new StepFailure("Unplumbed", `binding source_address ${this.spec.source_address}: ${describe(error)}`, {
        cause: error,
      });
    }
    return new StepFailure(otherwise, describe(error), { code, cause: error });
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
      candidates = await this.#resolve(server.host, ipFamily(this.spec.source_address));
    } catch (error) {
      throw new StepFailure("ProxyUnhealthy", `resolving proxy ${where}: ${describe(error)}`, { cause: error });
    }
    const failures: { address: string; failure: StepFailure }[] = [];
    for (const address of candidates) {
      const label = formatServer({ host: address, port: server.port });
      if (signal.aborted) {
        failures.push({ address: label, failure: new StepFailure("ProxyUnhealthy", "connect timed out") });
        break;
      }
      let conn: Conn;
      try {
        conn = await this.#rt.connect({
          host: address,
          port: server.port,
          localAddress: this.spec.source_address,
          signal,
        });
      } catch (error) {
        failures.push({ address: label, failure: this.#connectFailure(error, "ProxyUnhealthy") });
        continue;
      }
      try {
        return await handshake(conn);
      } catch (error) {
        conn.close();
        const failure = error instanceof StepFailure
          ? error
          : new StepFailure("ProxyUnhealthy", describe(error), { cause: error });
        if (failure.kind === "Destination") throw failure;
        failures.push({ address: label, failure });
      }
    }
    throw combine(where, failures);
  }
}

/**
 * Classify a failed SOCKS5 client handshake: an error reply to CONNECT, or
 * no reply before the deadline, is about the destination (the upstream was
 * busy reaching it: counting that against the proxy would suspend a healthy
 * proxy whenever an MX host drops SYNs); everything before CONNECT (greeting,
 * RFC 1929, the BIND of the source address, including an error reply to it)
 * and any malformed or missing CONNECT reply is the proxy's failure.
 */
function classifyHandshakeError(error: unknown, signal: AbortSignal): StepFailure {
  if (error instanceof Socks5ClientError) {
    if (error.stage === "connect" && error.rep !== undefined) {
      return new StepFailure("Destination", error.message, { rep: error.rep, cause: error });
    }
    if (error.stage === "connect" && signal.aborted) {
      return new StepFailure("Destination", error.message, { code: "ETIMEDOUT", cause: error });
    }
    return new StepFailure("ProxyUnhealthy", error.message, { cause: error });
  }
  if (error instanceof RangeError) {
    // The request could not be encoded (e.g. a domain name over 255 bytes).
    return new StepFailure("Destination", error.message, { code: "EINVAL", cause: error });
  }
  return new StepFailure("ProxyUnhealthy", describe(error), { cause: error });
}

/**
 * One failure out of the per-address failures of a proxy: `Unplumbed` when
 * every address failed that way, else `ProxyUnhealthy`; the message lists
 * every address with its reason.
 */
function combine(server: string, failures: { address: string; failure: StepFailure }[]): StepFailure {
  if (failures.length === 0) return new StepFailure("ProxyUnhealthy", `proxy ${server} has no address`);
  if (failures.length === 1) {
    const [{ address, failure }] = failures;
    return new StepFailure(failure.kind, `proxy ${address}: ${failure.message}`, failure.extra);
  }
  const kind: FailureKind = failures.every((f) => f.failure.kind === "Unplumbed") ? "Unplumbed" : "ProxyUnhealthy";
  const detail = failures.map((f) => `${f.address}: ${f.failure.message}`).join("; ");
  return new StepFailure(kind, `every address of proxy ${server} failed: ${detail}`, {
    cause: new AggregateError(failures.map((f) => f.failure)),
  });
}

/**
 * Why `spec` is contradictory, or `undefined` when it is usable. The same
 * rules the config schema checks (`src/config/schema/egress.ts`), for
 * library users.
 */
export function specProblem(spec: EgressSourceSpec): string | undefined {
  if (spec.socks5_proxy_server !== undefined && spec.ha_proxy_server !== undefined) {
    return "give socks5_proxy_server or ha_proxy_server, not both";
  }
  if (spec.ha_proxy_server !== undefined && spec.ha_proxy_source_address === undefined) {
    return "ha_proxy_server needs ha_proxy_source_address (the address of the PROXY header)";
  }
  if (spec.ha_proxy_source_address !== undefined && spec.ha_proxy_server === undefined) {
    return "ha_proxy_source_address needs ha_proxy_server";
  }
  const socksOnly = ["socks5_proxy_source_address", "socks5_proxy_username", "socks5_proxy_password"] as const;
  for (const key of socksOnly) {
    if (spec[key] !== undefined && spec.socks5_proxy_server === undefined) return `${key} needs socks5_proxy_server`;
  }
  if ((spec.socks5_proxy_username === undefined) !== (spec.socks5_proxy_password === undefined)) {
    return "socks5_proxy_username and socks5_proxy_password go together";
  }
  if (spec.suspend_when_proxy_unhealthy !== undefined && sourceKind(spec) === "direct") {
    return "suspend_when_proxy_unhealthy needs socks5_proxy_server or ha_proxy_server";
  }
  if (spec.suspend_when_unplumbed !== undefined && spec.source_address === undefined) {
    return "suspend_when_unplumbed needs source_address";
  }
  if (spec.health_check !== undefined && sourceKind(spec) === "direct") {
    return "health_check needs socks5_proxy_server or ha_proxy_server";
  }
  return undefined;
}
