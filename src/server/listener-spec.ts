/**
 * A proxy listener as the server needs it ({@linkcode ProxyListenerSpec}, a
 * subset of the `proxy_listeners` config entry) and what follows from it:
 * the settings its sessions run with, and whether a change needs a new
 * socket.
 *
 * @module
 */
import type { RateConfig } from "../access/index.ts";
import { formatHostPort, type NetAddr } from "../runtime/index.ts";
import type { SessionSettings } from "./context.ts";
import type { AddressFamilyPreference } from "./dialer.ts";

/** One proxy listener as the server needs it (a subset of the `proxy_listeners` config entry). */
export interface ProxyListenerSpec {
  /**
   * Address to listen on; `text` is the configured `listen` string (what
   * access rules and reloads match; the metrics label is the bound address).
   */
  listen: { host: string; port: number; text: string };
  /** Handshake-step and outbound-connect bound, seconds. */
  timeout: number;
  /** KumoProxy's `require_auth`. */
  require_auth: boolean;
  /** Accept ATYP DOMAINNAME requests. */
  allow_domain_names: boolean;
  /** Pool for CONNECTs without a preceding BIND (passed to the dialer as `OutboundRequest.egressPool`). */
  egress_pool?: string;
  /** Serve TLS (KumoProxy's `use_tls`); see `listenerTls` for the certificate used. */
  use_tls?: boolean;
  /** PEM certificate chain (`tls_certificate`, resolved by the config loader). */
  tls_certificate?: string;
  /** PEM private key (`tls_private_key`, resolved and checked against the certificate). */
  tls_private_key?: string;
  /** Host name of a generated certificate (KumoProxy's `hostname`; default the system host name). */
  hostname?: string;
  /**
   * KumoProxy's `tcp_keepalive` (seconds; `retries` a count), applied to
   * accepted and outbound sockets unless `enabled` is false; a setting left
   * out (or the whole key) is `undefined`: keep-alive on, the kernel's value
   * for the rest. What the runtime cannot apply of what is written is
   * reported in one start-up notice (`Runtime.keepAliveSupport`).
   */
  tcp_keepalive?: { enabled?: boolean; time?: number; interval?: number; retries?: number };
  /** Set SO_REUSEPORT, so several instances can share the listen address (`reuse_port`). Default false. */
  reuse_port?: boolean;
  /** Clients that may connect (IP addresses and CIDR blocks); absent: every client. */
  allowed_clients?: readonly string[];
  /** Most sessions open at once on the listener. */
  max_connections?: number;
  /** Most sessions open at once per client IP on the listener. */
  max_connections_per_client?: number;
  /** New connections per client IP on the listener. */
  connection_rate?: RateConfig;
  /** Seconds a tunnel may carry no byte before it is closed; absent or 0: no limit. */
  idle_timeout?: number;
  /** Which addresses of a destination name a direct CONNECT tries, in which order; default `"system"`. */
  address_family_preference?: AddressFamilyPreference;
}

/**
 * KumoProxy's keep-alive idle time when `tcp_keepalive.time` is not written,
 * seconds (`TcpKeepaliveParams::default_time` in KumoMTA's
 * `crates/proxy-server/src/mod_proxy.rs`: 300 s). Applied where the runtime
 * can set TCP_KEEPIDLE (`Runtime.keepAliveSupport`); elsewhere the
 * kernel's `net.ipv4.tcp_keepalive_time` applies, without a notice, since
 * the operator asked for nothing.
 */
export const DEFAULT_KEEPALIVE_TIME_SECONDS = 300;

/**
 * The {@linkcode SessionSettings} of a listener's sessions (keep-alive on
 * unless `tcp_keepalive.enabled` is false, and its `time` as written or
 * {@linkcode DEFAULT_KEEPALIVE_TIME_SECONDS}: KumoProxy's defaults),
 * labelled `label` (the bound address, see {@linkcode listenerLabel}).
 */
export function sessionSettings(spec: ProxyListenerSpec, label: string): SessionSettings {
  const ka = spec.tcp_keepalive;
  const keepAlive = ka?.enabled === false
    ? undefined
    : { enabled: true, time: ka?.time ?? DEFAULT_KEEPALIVE_TIME_SECONDS };
  return {
    listener: label,
    listen: spec.listen.text,
    timeout: spec.timeout,
    requireAuth: spec.require_auth,
    allowDomainNames: spec.allow_domain_names,
    egressPool: spec.egress_pool,
    ...(keepAlive ? { keepAlive } : {}),
    ...(spec.idle_timeout ? { idleTimeout: spec.idle_timeout } : {}),
    ...(spec.address_family_preference && spec.address_family_preference !== "system"
      ? { addressFamily: spec.address_family_preference }
      : {}),
  };
}

/**
 * The `listener` label of a bound listener: its address as KumoProxy
 * reports it, `ip:port` or `[v6]:port`, with the real port when the config
 * says 0 (`formatHostPort` of `Listener.addr`).
 *
 * @example
 * ```ts
 * listenerLabel({ host: "::1", port: 1080 }); // "[::1]:1080"
 * ```
 */
export function listenerLabel(addr: NetAddr): string {
  return formatHostPort(addr);
}

/** Whether two specs need different sockets (TLS material is fixed when the socket is bound). */
export function needsRebind(a: ProxyListenerSpec, b: ProxyListenerSpec): boolean {
  return Boolean(a.use_tls) !== Boolean(b.use_tls) || a.tls_certificate !== b.tls_certificate ||
    a.tls_private_key !== b.tls_private_key || a.hostname !== b.hostname;
}
