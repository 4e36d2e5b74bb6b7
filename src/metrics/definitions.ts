/**
 * Every metric proxy-server declares, in one table: name, type, help text and
 * label names, as KumoMTA's `declare_metric!` does for its own. The
 * `--dump-metric-metadata` output comes from here, and a test checks that the
 * README's metric table lists each one. Adding a metric is one entry in
 * {@linkcode METRICS}; the registry creates it and gives it a typed handle
 * (see `registry.ts`).
 *
 * Names follow Prometheus conventions: counters end in `_total`, durations
 * are in `_seconds`, sizes in `_bytes`. The byte counters use KumoMTA's
 * `client_to_dest` / `dest_to_client` names (its proxy-server docs), not the
 * `bytes_received` / `bytes_sent` of an older page of the same docs.
 *
 * @module
 */

/** A Prometheus metric type proxy-server declares. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One declared metric (its name is the key in {@linkcode METRICS}). */
export interface MetricDefinition {
  /** Prometheus type. */
  readonly type: MetricType;
  /** The `# HELP` text. */
  readonly help: string;
  /** Label names, in order. */
  readonly labels: readonly string[];
  /** Histogram bucket upper bounds, in the metric's unit (histograms only). */
  readonly buckets?: readonly number[];
}

/**
 * `listener`: the proxy listener's bound address as KumoProxy reports it
 * (`ip:port`, `[v6]:port`, with the real port when the config says 0).
 */
const LISTENER = ["listener"] as const;

/** `source`: the egress source's name (a key of `sources`), as KumoMTA's source metrics are labelled. */
const SOURCE = ["source"] as const;

/**
 * The metric table. Every proxy metric is labelled `listener` (the bound
 * address, e.g. `"0.0.0.0:1080"`, `"127.0.0.1:40123"` for a config that
 * says port 0), as KumoProxy's are.
 * Every egress metric is labelled `source`: the first three follow KumoMTA's
 * `source_health` metrics, the last three Caddy layer4's per-upstream ones.
 */
export const METRICS = {
  proxy_connections_accepted_total: {
    type: "counter",
    help: "Client connections accepted by the proxy listener.",
    labels: LISTENER,
  },
  proxy_connections_failed_total: {
    type: "counter",
    help: "Sessions that failed: a bad SOCKS5 handshake, an RFC 1929 authentication failure, " +
      "a timeout, a TLS handshake failure or a relay I/O error.",
    labels: LISTENER,
  },
  proxy_connections_completed_total: {
    type: "counter",
    help: "Sessions that completed: a request was answered (success or an error reply) and the tunnel, " +
      "if any, ended cleanly.",
    labels: LISTENER,
  },
  proxy_active_connections: {
    type: "gauge",
    help: "Client connections open now (handshakes and tunnels).",
    labels: LISTENER,
  },
  proxy_bytes_client_to_dest_total: {
    type: "counter",
    help: "Bytes relayed from clients to destinations, counted as they flow.",
    labels: LISTENER,
  },
  proxy_bytes_dest_to_client_total: {
    type: "counter",
    help: "Bytes relayed from destinations to clients, counted as they flow.",
    labels: LISTENER,
  },
  proxy_outbound_connections_total: {
    type: "counter",
    help: "Outbound connections made, by destination (host:port). At most " +
      "metrics.max_outbound_destinations series are kept; the least recently used is dropped first.",
    labels: ["listener", "destination"],
  },
  proxy_outbound_destinations_evicted_total: {
    type: "counter",
    help: "Series of proxy_outbound_connections_total dropped to keep it within metrics.max_outbound_destinations.",
    labels: [],
  },
  proxy_tls_handshake_failures_total: {
    type: "counter",
    help: "TLS handshakes with clients that failed (TLS listeners only).",
    labels: LISTENER,
  },
  proxy_auth_failures_total: {
    type: "counter",
    help: "RFC 1929 username/password checks that failed.",
    labels: LISTENER,
  },
  proxy_auth_hash_verifications_total: {
    type: "counter",
    help: "Password hashes (argon2id, bcrypt) computed on the hash worker pool to check RFC 1929 logins " +
      "(and the admin API's Basic accounts); includes the dummy hash an unknown username is checked against, " +
      "excludes logins answered from the users_cache_ttl cache.",
    labels: [],
  },
  proxy_auth_cache_hits_total: {
    type: "counter",
    help: "RFC 1929 logins of users with a password_hash answered from the users_cache_ttl cache, without a hash.",
    labels: [],
  },
  proxy_auth_verifications_refused_total: {
    type: "counter",
    help: "RFC 1929 logins failed at once, without a hash, because too many hash verifications were in flight, " +
      "by limit (client: this client address's; overall: the worker pool's queue).",
    labels: ["limit"],
  },
  proxy_connections_denied_total: {
    type: "counter",
    help: "Connections closed at accept (reason client, rate, listener_limit, client_limit) and requests " +
      "answered REP 0x02 (rule, source_address, user_limit, self: a CONNECT to one of the proxy's own " +
      "listeners) by access control.",
    labels: ["listener", "reason"],
  },
  proxy_accept_errors_total: {
    type: "counter",
    help: "Client connections the proxy listener could not take: a failed accept (Deno reports them), or a " +
      "connection closed at once, without a reply, because the process is out of file descriptors, by reason " +
      "(emfile, enfile, enotconn, econnaborted, other).",
    labels: ["listener", "reason"],
  },
  proxy_handshake_duration_seconds: {
    type: "histogram",
    help: "Time from accepting a client to answering its CONNECT with success, in seconds.",
    labels: LISTENER,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  proxy_requests_total: {
    type: "counter",
    help: "SOCKS5 requests answered, by command (connect, bind, udp_associate, unknown) and by the RFC 1928 " +
      "reply sent (succeeded, general_failure, not_allowed, network_unreachable, host_unreachable, " +
      'connection_refused, ttl_expired, command_not_supported, address_type_not_supported): rate(...{reply!="succeeded"}) ' +
      "is the error rate.",
    labels: ["listener", "command", "reply"],
  },
  proxy_session_duration_seconds: {
    type: "histogram",
    help: "Time from accepting a client to closing its connection, in seconds (every session, whatever its end).",
    labels: LISTENER,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
  },
  proxy_user_requests_total: {
    type: "counter",
    help: "SOCKS5 requests answered, by RFC 1929 user and reply name (only with metrics.per_user; at most " +
      "1000 users are kept, the least recently seen dropped first).",
    labels: ["user", "reply"],
  },
  proxy_user_bytes_client_to_dest_total: {
    type: "counter",
    help: "Bytes relayed from clients to destinations, by RFC 1929 user, added when each session ends (only with " +
      "metrics.per_user).",
    labels: ["user"],
  },
  proxy_user_bytes_dest_to_client_total: {
    type: "counter",
    help: "Bytes relayed from destinations to clients, by RFC 1929 user, added when each session ends (only with " +
      "metrics.per_user).",
    labels: ["user"],
  },
  proxy_user_auth_failures_total: {
    type: "counter",
    help: "RFC 1929 checks that failed, by the username tried (only with metrics.per_user).",
    labels: ["user"],
  },
  proxy_users_evicted_total: {
    type: "counter",
    help: "Users whose proxy_user_* series were dropped to keep them within the per-user cap (1000 users).",
    labels: [],
  },
  proxy_build_info: {
    type: "gauge",
    help: "Always 1; the labels say which proxy-server version, commit and build date runs on which runtime " +
      '(commit "source" and an empty build_date when run from source).',
    labels: ["version", "commit", "build_date", "runtime", "runtime_version"],
  },
  egress_source_connection_failures_total: {
    type: "counter",
    help: "Classified connection failures through an egress source, by kind (ProxyUnhealthy: the proxy is " +
      "unreachable, refuses, times out or rejects the BIND of the source address; Unplumbed: the local " +
      "source_address cannot be bound), whether or not a suspend_when_* rule is configured.",
    labels: ["source", "kind"],
  },
  egress_source_health_suspensions_total: {
    type: "counter",
    help: "Times an egress source entered a suspension, by reason (ProxyUnhealthy, Unplumbed, HealthCheck, " +
      "or an operator's reason from the admin API). Extending an active suspension does not count.",
    labels: ["source", "reason"],
  },
  egress_source_health_suspended: {
    type: "gauge",
    help: "1 while the egress source is suspended for this reason, else 0.",
    labels: ["source", "reason"],
  },
  egress_source_connections_total: {
    type: "counter",
    help: "Connections established through the egress source.",
    labels: SOURCE,
  },
  egress_source_active_connections: {
    type: "gauge",
    help: "Connections through the egress source open now.",
    labels: SOURCE,
  },
  egress_source_healthy: {
    type: "gauge",
    help: "1 when the egress source is usable (its health check, if any, passes and it is not suspended), else 0.",
    labels: SOURCE,
  },
  proxy_cluster_backend_up: {
    type: "gauge",
    help: "1 while Redis answers within cluster.timeout, 0 while the instance runs on local state; " +
      "exposed only when cluster is configured.",
    labels: [],
  },
  proxy_cluster_operations_total: {
    type: "counter",
    help: "Redis operations of the cluster state, by op (suspend, clear, load, failure, lease_acquire, " +
      "lease_release, lease_renew, rate, probe_cell, info) and result (ok, error, timeout, down: not tried, Redis down).",
    labels: ["op", "result"],
  },
  proxy_cluster_operation_duration_seconds: {
    type: "histogram",
    help: "Time of the Redis operations that were tried, by op, in seconds.",
    labels: ["op"],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  },
} as const satisfies Record<string, MetricDefinition>;

/** The name of a declared metric. */
export type MetricName = keyof typeof METRICS;
