/**
 * The metrics side of the server's {@linkcode ProxyObserver}: each session
 * event becomes counter, gauge and histogram updates, labelled with the
 * proxy listener's bound address (`127.0.0.1:40123`: the real port when the
 * config says 0).
 *
 * The per-byte path is cheap: each listener's label children are resolved
 * once (when the server reports the listener bound, `listening()`, or on
 * first use) and `relayed()` is one map lookup and one `inc`.
 *
 * `sessionEnded()` counts the session's requests in `proxy_requests_total`
 * by reply name (a BIND-then-CONNECT session answered two requests: the
 * accepted BIND is counted too) and observes
 * `proxy_session_duration_seconds`; with `perUser`, the `proxy_user_*`
 * series, within a cap of {@linkcode MAX_USER_SERIES} users.
 *
 * @module
 */

import type { Counter, Gauge, Histogram } from "prom-client";
import type {
  AcceptErrorReason,
  DeniedReason,
  Direction,
  FailureReason,
  ProxyObserver,
  SessionOutcome,
} from "../server/index.ts";
import { CMD, commandName, REP, repName } from "../socks5/index.ts";
import { LRUCache } from "lru-cache";
import type { ProxyMetrics } from "./registry.ts";

type CounterChild = ReturnType<Counter["labels"]>;
type GaugeChild = ReturnType<Gauge["labels"]>;
type HistogramChild = ReturnType<Histogram["labels"]>;

/**
 * Every `reason` of `proxy_connections_denied_total`, whose series start at
 * 0 (a record, so a reason added to `DeniedReason` must be added here).
 */
const DENIED_REASONS = Object.keys(
  {
    client: true,
    rule: true,
    source_address: true,
    listener_limit: true,
    client_limit: true,
    user_limit: true,
    rate: true,
    self: true,
  } satisfies Record<DeniedReason, true>,
) as DeniedReason[];

/** Every `reason` of `proxy_accept_errors_total`, whose series start at 0 (a record, as above). */
const ACCEPT_ERROR_REASONS = Object.keys(
  { emfile: true, enfile: true, enotconn: true, econnaborted: true, other: true } satisfies Record<
    AcceptErrorReason,
    true
  >,
) as AcceptErrorReason[];

/** The label children of one listener. */
interface ListenerSeries {
  accepted: CounterChild;
  failed: CounterChild;
  completed: CounterChild;
  active: GaugeChild;
  bytes: Record<Direction, CounterChild>;
  tlsFailures: CounterChild;
  authFailures: CounterChild;
  handshake: HistogramChild;
  duration: HistogramChild;
  /** The listener label. */
  listener: string;
  /** `proxy_requests_total` children by `command reply`, made on first use. */
  requests: Map<string, CounterChild>;
}

/** Most users with `proxy_user_*` series at once (`metrics.per_user`); the least recently seen is dropped. */
export const MAX_USER_SERIES = 1000;

/** The series one user has, so that dropping the user removes all of them. */
interface UserSeries {
  /** Reply names seen in `proxy_user_requests_total`. */
  replies: Set<string>;
}

/** The labels of one `proxy_outbound_connections_total` series. */
interface OutboundLabels {
  listener: string;
  destination: string;
}

/** Options of {@linkcode MetricsObserver}. */
export interface MetricsObserverOptions {
  /**
   * Listener labels (bound addresses) whose series exist (at 0) from the
   * start; default none. The server reports each listener it binds through
   * `listening()`, which does the same once its address is known.
   */
  listeners?: readonly string[];
  /** Cap on `proxy_outbound_connections_total` series (`metrics.max_outbound_destinations`). */
  maxOutboundDestinations: number;
  /** Keep the `proxy_user_*` series (`metrics.per_user`); default false. */
  perUser?: boolean;
  /** Cap on users with `proxy_user_*` series; default {@linkcode MAX_USER_SERIES}. */
  maxUsers?: number;
}

/**
 * A {@linkcode ProxyObserver} that records into a {@linkcode ProxyMetrics}.
 *
 * @example
 * ```ts
 * const metrics = new ProxyMetrics({ version, runtime });
 * const observer = new MetricsObserver(metrics, { listeners: ["127.0.0.1:1080"], maxOutboundDestinations: 1000 });
 * await ProxyServer.start({ runtime, listeners, users, observer });
 * ```
 */
export class MetricsObserver implements ProxyObserver {
  readonly #metrics: ProxyMetrics;
  readonly #series = new Map<string, ListenerSeries>();
  /**
   * The outbound destination series in least-recently-used order (KumoMTA
   * prunes its outbound-destination counter for the same reason): key the
   * JSON of the labels, value the labels.
   */
  readonly #destinations: LRUCache<string, OutboundLabels>;
  /** The users with `proxy_user_*` series, least recently seen first; undefined without `perUser`. */
  readonly #users: LRUCache<string, UserSeries> | undefined;

  /**
   * @param metrics the registry to record into
   * @param options the configured listeners and the outbound series cap
   * @throws {RangeError} when `maxOutboundDestinations` is not a positive integer
   */
  constructor(metrics: ProxyMetrics, options: MetricsObserverOptions) {
    this.#metrics = metrics;
    const { proxy_outbound_connections_total: outbound, proxy_outbound_destinations_evicted_total: evicted } =
      metrics.set;
    const max = options.maxOutboundDestinations;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxOutboundDestinations must be a positive integer, got ${max}`);
    }
    this.#destinations = new LRUCache<string, OutboundLabels>({
      max,
      // Only a series dropped to make room counts; "set" and "delete" are not evictions.
      dispose: (labels, _key, reason) => {
        if (reason !== "evict") return;
        outbound.remove(labels);
        evicted.inc();
      },
    });
    if (options.perUser) {
      const m = metrics.set;
      this.#users = new LRUCache<string, UserSeries>({
        max: options.maxUsers ?? MAX_USER_SERIES,
        dispose: (series, user, reason) => {
          if (reason !== "evict") return;
          for (const reply of series.replies) m.proxy_user_requests_total.remove({ user, reply });
          m.proxy_user_bytes_client_to_dest_total.remove({ user });
          m.proxy_user_bytes_dest_to_client_total.remove({ user });
          m.proxy_user_auth_failures_total.remove({ user });
          m.proxy_users_evicted_total.inc();
        },
      });
    }
    for (const listener of options.listeners ?? []) this.#for(listener);
  }

  #for(listener: string): ListenerSeries {
    let s = this.#series.get(listener);
    if (s === undefined) {
      const m = this.#metrics.set;
      const labels = { listener };
      s = {
        accepted: m.proxy_connections_accepted_total.labels(labels),
        failed: m.proxy_connections_failed_total.labels(labels),
        completed: m.proxy_connections_completed_total.labels(labels),
        active: m.proxy_active_connections.labels(labels),
        bytes: {
          client_to_dest: m.proxy_bytes_client_to_dest_total.labels(labels),
          dest_to_client: m.proxy_bytes_dest_to_client_total.labels(labels),
        },
        tlsFailures: m.proxy_tls_handshake_failures_total.labels(labels),
        authFailures: m.proxy_auth_failures_total.labels(labels),
        handshake: m.proxy_handshake_duration_seconds.labels(labels),
        duration: m.proxy_session_duration_seconds.labels(labels),
        listener,
        requests: new Map(),
      };
      // Series appear at 0 before the first event, so rate() works from the start.
      for (const child of [s.accepted, s.failed, s.completed, s.bytes.client_to_dest, s.bytes.dest_to_client]) {
        child.inc(0);
      }
      s.tlsFailures.inc(0);
      s.authFailures.inc(0);
      for (const reason of DENIED_REASONS) m.proxy_connections_denied_total.labels({ listener, reason }).inc(0);
      for (const reason of ACCEPT_ERROR_REASONS) m.proxy_accept_errors_total.labels({ listener, reason }).inc(0);
      s.active.set(0);
      m.proxy_handshake_duration_seconds.zero(labels);
      m.proxy_session_duration_seconds.zero(labels);
      this.#series.set(listener, s);
    }
    return s;
  }

  /** `proxy_connections_accepted_total` + 1, `proxy_active_connections` + 1. */
  accepted(listener: string): void {
    const s = this.#for(listener);
    s.accepted.inc();
    s.active.inc();
  }

  /** `proxy_active_connections` - 1. */
  closed(listener: string): void {
    this.#for(listener).active.dec();
  }

  /** `proxy_connections_failed_total` + 1, whatever the `reason`. */
  failed(listener: string, _reason: FailureReason): void {
    this.#for(listener).failed.inc();
  }

  /** `proxy_tls_handshake_failures_total` + 1 and `proxy_connections_failed_total` + 1. */
  tlsHandshakeFailed(listener: string): void {
    const s = this.#for(listener);
    s.tlsFailures.inc();
    s.failed.inc();
  }

  /** `proxy_connections_denied_total{listener,reason}` + 1. */
  connectionDenied(listener: string, reason: DeniedReason): void {
    this.#metrics.set.proxy_connections_denied_total.labels({ listener, reason }).inc();
  }

  /** A listener was bound: its series appear at 0 (see {@linkcode MetricsObserverOptions.listeners}). */
  listening(listener: string): void {
    this.#for(listener);
  }

  /** `proxy_accept_errors_total{listener,reason}` + 1. */
  acceptFailed(listener: string, reason: AcceptErrorReason): void {
    this.#metrics.set.proxy_accept_errors_total.labels({ listener, reason }).inc();
  }

  /** `proxy_connections_completed_total` + 1. */
  completed(listener: string): void {
    this.#for(listener).completed.inc();
  }

  /** `proxy_auth_failures_total` + 1. */
  authFailed(listener: string): void {
    this.#for(listener).authFailures.inc();
  }

  /** Observe `seconds` in `proxy_handshake_duration_seconds`. */
  handshakeDone(listener: string, seconds: number): void {
    this.#for(listener).handshake.observe(seconds);
  }

  /** `proxy_outbound_connections_total{listener,destination}` + 1, within the series cap. */
  outbound(listener: string, destination: string): void {
    const labels = { listener, destination };
    // set() marks the series most recently used, adding it (and evicting the least recently used) when new.
    this.#destinations.set(JSON.stringify(labels), labels);
    this.#metrics.set.proxy_outbound_connections_total.labels(labels).inc();
  }

  /** `proxy_bytes_{client_to_dest,dest_to_client}_total` + `bytes`. */
  relayed(listener: string, direction: Direction, bytes: number): void {
    this.#for(listener).bytes[direction].inc(bytes);
  }

  /**
   * The session's requests in `proxy_requests_total{listener,command,reply}`
   * (and `proxy_user_requests_total` with `perUser`), its duration in
   * `proxy_session_duration_seconds` (not for a failed TLS handshake, whose
   * duration is unknown: 0), and with `perUser` its bytes and a failed
   * login in the `proxy_user_*` series.
   */
  sessionEnded(o: SessionOutcome): void {
    const s = this.#for(o.listener);
    if (o.durationSeconds > 0) s.duration.observe(o.durationSeconds);
    const users = this.#users;
    const user = users === undefined ? undefined : o.user;
    // An accepted BIND is followed by another request (or the client's close): count it too.
    if (o.bindAddress !== undefined && !(o.command === CMD.BIND && o.reply === REP.SUCCEEDED)) {
      this.#request(s, "bind", "succeeded", user);
    }
    if (o.reply !== undefined) this.#request(s, commandName(o.command), repName(o.reply), user);
    if (user === undefined) return;
    const m = this.#metrics.set;
    this.#user(user);
    if (o.end === "auth_failed") m.proxy_user_auth_failures_total.labels({ user }).inc();
    if (o.bytesUp > 0) m.proxy_user_bytes_client_to_dest_total.labels({ user }).inc(o.bytesUp);
    if (o.bytesDown > 0) m.proxy_user_bytes_dest_to_client_total.labels({ user }).inc(o.bytesDown);
  }

  /** One request in `proxy_requests_total` (and per user). */
  #request(s: ListenerSeries, command: string, reply: string, user: string | undefined): void {
    const key = `${command} ${reply}`;
    let child = s.requests.get(key);
    if (child === undefined) {
      child = this.#metrics.set.proxy_requests_total.labels({ listener: s.listener, command, reply });
      s.requests.set(key, child);
    }
    child.inc();
    if (user !== undefined) {
      this.#user(user).replies.add(reply);
      this.#metrics.set.proxy_user_requests_total.labels({ user, reply }).inc();
    }
  }

  /** The user's entry, marked most recently seen (added, evicting the least recent, when new). */
  #user(user: string): UserSeries {
    const users = this.#users!;
    let series = users.get(user);
    if (series === undefined) users.set(user, series = { replies: new Set() });
    return series;
  }
}
