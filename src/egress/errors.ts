/**
 * Errors raised by egress sources, pools and the registry, and the failure
 * classes that feed automatic suspension (KumoMTA's `source_health`).
 *
 * @module
 */

/**
 * A classified connection failure that counts toward suspension rules and
 * the `egress_source_connection_failures_total{source,kind}` counter
 * (KumoMTA's `HealthEvent`):
 * - `"ProxyUnhealthy"`: the proxy (`socks5_proxy_server`,
 *   `ha_proxy_server`) is unreachable, refuses, times out (connect or
 *   handshake before CONNECT not done within `connect_timeout`, or a CONNECT
 *   reply that started and stalled), breaks the protocol, or answers the BIND
 *   of `socks5_proxy_source_address` with an error.
 * - `"Unplumbed"`: binding the local `source_address` failed with
 *   `EADDRNOTAVAIL` (Deno reports `EINVAL` for the same case).
 */
export type FailureKind = "ProxyUnhealthy" | "Unplumbed";

/**
 * Where a failed connect went wrong: one of the {@linkcode FailureKind}s,
 * `"Destination"` for a failure about the destination itself (refused,
 * unreachable, timed out, or an upstream proxy's error reply to CONNECT),
 * or `"Local"` for this process's own failure (it is out of file
 * descriptors or memory: EMFILE, ENFILE, ENOBUFS, ENOMEM). Neither of the
 * last two counts against the source; a client gets REP 0x01 for `"Local"`.
 */
export type ConnectFailureClass = FailureKind | "Destination" | "Local";

/**
 * A connect through an egress source failed. For `kind: "Destination"`,
 * `rep` (the REP an upstream SOCKS5 proxy answered CONNECT with, RFC 1928
 * section 6) or `code` (the errno name of a direct connect, e.g.
 * `"ECONNREFUSED"`) says why, so a SOCKS5 server can answer its client with
 * the matching REP. Proxy and unplumbed failures carry neither (a client
 * gets REP 0x01, general failure); `cause` holds the underlying error(s).
 */
export class EgressConnectError extends Error {
  /** Name of the egress source. */
  readonly source: string;
  /** The failure class. */
  readonly kind: ConnectFailureClass;
  /** Errno name of a destination failure, e.g. `"ECONNREFUSED"`, `"ETIMEDOUT"`. */
  readonly code: string | undefined;
  /** REP of an upstream proxy's error reply to CONNECT (destination failures only). */
  readonly rep: number | undefined;
  constructor(
    source: string,
    kind: ConnectFailureClass,
    message: string,
    options: { code?: string; rep?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EgressConnectError";
    this.source = source;
    this.kind = kind;
    this.code = kind === "Destination" ? options.code : undefined;
    this.rep = kind === "Destination" ? options.rep : undefined;
  }
}

/**
 * `EgressSource.connect` on a source that is suspended: it fails at once,
 * without touching the network (as kumod does). Not counted as a failure.
 */
export class SourceSuspendedError extends Error {
  /** Name of the egress source. */
  readonly source: string;
  /** Why it is suspended (`"ProxyUnhealthy"`, `"Unplumbed"`, `"HealthCheck"` or an operator's reason). */
  readonly reason: string;
  /** Seconds until the suspension ends by itself; `Infinity` for a health-check suspension. */
  readonly remaining: number;
  constructor(source: string, reason: string, remaining: number) {
    super(
      `egress source ${source} is suspended (${reason}) ${
        Number.isFinite(remaining) ? `for another ${remaining.toFixed(1)}s` : "until its health check passes"
      }`,
    );
    this.name = "SourceSuspendedError";
    this.source = source;
    this.reason = reason;
    this.remaining = remaining;
  }
}

/**
 * Every source of a pool with a non-zero weight is suspended: the caller
 * learns at once when the earliest one comes back (kumod's
 * `SourceInsertResult::Delay`) instead of waiting for a timeout.
 */
export class AllSourcesSuspendedError extends Error {
  /** Name of the pool. */
  readonly pool: string;
  /** The source whose suspension ends first. */
  readonly source: string;
  /** Seconds until it comes back; `Infinity` when every source waits for a health check. */
  readonly retryAfter: number;
  constructor(pool: string, source: string, retryAfter: number) {
    super(
      `every source of egress pool ${pool} is suspended; ` +
        (Number.isFinite(retryAfter)
          ? `the earliest, ${source}, comes back in ${retryAfter.toFixed(1)}s`
          : `none comes back before a health check passes (first: ${source})`),
    );
    this.name = "AllSourcesSuspendedError";
    this.pool = pool;
    this.source = source;
    this.retryAfter = retryAfter;
  }
}

/** A pool with no entry of non-zero weight (kumod's `SourceInsertResult::NoSources`). */
export class NoSourcesError extends Error {
  /** Name of the pool. */
  readonly pool: string;
  constructor(pool: string) {
    super(`egress pool ${pool} has no source with a non-zero weight`);
    this.name = "NoSourcesError";
    this.pool = pool;
  }
}

/** The registry has no source of that name (the admin API answers 404). */
export class UnknownSourceError extends Error {
  /** The name that was asked for. */
  readonly source: string;
  constructor(source: string) {
    super(`unknown egress source ${JSON.stringify(source)}`);
    this.name = "UnknownSourceError";
    this.source = source;
  }
}

/** A manual suspension with a bad duration or reason (the admin API answers 400). */
export class InvalidSuspensionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSuspensionError";
  }
}
