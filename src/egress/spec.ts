/**
 * The description of an egress source, with KumoMTA's option names
 * (`kumo.make_egress_source { ... }`), as the egress library takes it. The
 * config loader produces exactly this shape from `sources` in `proxy.json`
 * and from KumoMTA sources-helper files; library users write it by hand.
 * Durations are numbers of SECONDS here.
 *
 * @module
 */
import { formatHostPort } from "../runtime/index.ts";

/** `host:port` of an upstream proxy; `host` is an IP literal (no brackets) or a DNS name. */
export interface ServerAddress {
  /** IP literal without brackets, or a DNS name resolved at connection time. */
  host: string;
  /** TCP port, 1-65535. */
  port: number;
}

/**
 * When a suspension rule fires (KumoMTA's `Trigger`): `"Immediate"` on the
 * first matching failure, or a threshold of `limit` failures inside a rolling
 * window of `period` seconds (`{ Threshold = "3/5m" }` is
 * `{ limit: 3, period: 300 }`).
 */
export type Trigger = "Immediate" | { limit: number; period: number };

/**
 * A `suspend_when_proxy_unhealthy` / `suspend_when_unplumbed` rule
 * (KumoMTA's `SuspendOnFailure`).
 */
export interface SuspendRule {
  /** When to fire; see {@linkcode Trigger}. */
  trigger: Trigger;
  /** How long the source stays suspended once the rule fires, seconds. */
  duration: number;
}

/**
 * Active health checking of a proxy source (Caddy layer4's `health_checks.active`):
 * every `interval` seconds, a real SOCKS5 exchange with the upstream proxy
 * (greeting, RFC 1929 authentication, and `BIND socks5_proxy_source_address:0`
 * when one is set), or, for a HAProxy source, a PROXY v2 `LOCAL` header.
 */
export interface HealthCheckSpec {
  /** Seconds between checks. */
  interval: number;
  /** Bound on one check, seconds. */
  timeout: number;
  /** Consecutive failures that mark the source down and suspend it (reason `HealthCheck`). */
  fall: number;
  /** Consecutive successes that mark it up again and clear that suspension. */
  rise: number;
}

/**
 * One egress source. At most one way out: direct (optionally from
 * `source_address`), via an upstream SOCKS5 proxy (`socks5_proxy_server`),
 * or via HAProxy's PROXY protocol v2 (`ha_proxy_server` with
 * `ha_proxy_source_address`). `source_address` also applies to the
 * connection to a proxy (the local address it leaves from), as in kumod.
 */
export interface EgressSourceSpec {
  /** Local IP literal to bind before connecting (KumoMTA: `source_address`). */
  source_address?: string;
  /** Upstream SOCKS5 proxy (KumoMTA: `socks5_proxy_server`). */
  socks5_proxy_server?: ServerAddress;
  /** Source IP the upstream proxy should use, sent as `BIND <ip>:0` (KumoMTA: `socks5_proxy_source_address`). */
  socks5_proxy_source_address?: string;
  /** RFC 1929 username for the upstream proxy (KumoMTA: `socks5_proxy_username`). */
  socks5_proxy_username?: string;
  /** RFC 1929 password for the upstream proxy, already resolved (KumoMTA: `socks5_proxy_password`). */
  socks5_proxy_password?: string;
  /** HAProxy with `accept-proxy` (KumoMTA: `ha_proxy_server`). */
  ha_proxy_server?: ServerAddress;
  /** Source address written into the PROXY v2 header (KumoMTA: `ha_proxy_source_address`). */
  ha_proxy_source_address?: string;
  /** Suspend on proxy failures (KumoMTA: `suspend_when_proxy_unhealthy`). */
  suspend_when_proxy_unhealthy?: SuspendRule;
  /** Suspend when `source_address` cannot be bound (KumoMTA: `suspend_when_unplumbed`). */
  suspend_when_unplumbed?: SuspendRule;
  /**
   * With a shared suspension store (`cluster`): count failures for a
   * `Threshold` trigger across every instance. Default false.
   */
  share_failure_windows?: boolean;
  /** Active health checks (proxy sources only). */
  health_check?: HealthCheckSpec;
  /**
   * Bound on reaching the proxy and the handshake before CONNECT (TCP
   * connect, greeting, RFC 1929, BIND; for HAProxy the connect and the
   * header), and on the rest of a CONNECT reply once its first byte came,
   * seconds (proxy sources only). Running past it is a proxy failure, after
   * which a pool tries its next source. Default: a quarter of the caller's
   * timeout (`defaultConnectTimeout`); the caller's timeout bounds it too.
   */
  connect_timeout?: number;
}

/** How a source leaves: straight to the destination, or through a proxy. */
export type EgressSourceKind = "direct" | "socks5" | "haproxy";

/** The {@linkcode EgressSourceKind} of a spec. */
export function sourceKind(spec: EgressSourceSpec): EgressSourceKind {
  if (spec.socks5_proxy_server !== undefined) return "socks5";
  if (spec.ha_proxy_server !== undefined) return "haproxy";
  return "direct";
}

/** One entry of a pool (KumoMTA's `EgressPoolEntry`). */
export interface PoolEntrySpec {
  /** Name of an egress source. */
  name: string;
  /** Relative share of the selections; 0 = never used. Default 1. */
  weight?: number;
}

/** A pool (KumoMTA's `kumo.make_egress_pool { entries = ... }`). */
export interface EgressPoolSpec {
  /** The sources of the pool, with their weights. */
  entries: PoolEntrySpec[];
}

/** `host:port`, with brackets around an IPv6 literal. */
export function formatServer(server: ServerAddress): string {
  return formatHostPort(server);
}
