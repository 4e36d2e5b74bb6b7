/**
 * The access policy of one configuration: client allow lists, rules, source
 * address permissions and connection limits, compiled once
 * ({@linkcode compileAccessPolicy}) over a store of counts that outlives
 * it. Everything here is a synchronous decision; the server acts on it.
 *
 * Where the server calls what:
 *
 * ```ts
 * // at accept (before any byte is read):
 * const client = parseIp(peer.host);           // once per connection
 * const admitted = policy.admit(listener, client ?? peer.host, Date.now());
 * if (!admitted.ok) return close(admitted.reason);  // proxy_connections_denied_total{listener,reason}
 * try { ... } finally { admitted.release(); }       // idempotent
 * // after authentication, when the first request arrives:
 * const userLease = user === undefined ? undefined : policy.acquireUser(user);
 * if (userLease && !userLease.ok) reply(0x02);      // reason "user_limit"
 * // BIND <source>:0
 * if (!policy.checkSourceAddress(user, source)) reply(0x02);  // reason "source_address"
 * if (policy.checkRequest({ ..., command: "bind", sourceAddress: source }).action === "deny") reply(0x02);
 * // CONNECT
 * const d = policy.checkRequest(req);
 * if (!d.needsAddress) { if (d.action === "deny") reply(0x02); }          // reason "rule"
 * else for (const a of await resolve(name)) keep a if policy.checkResolved(req, a).action === "allow";
 * ```
 *
 * One file because it is one class, `AccessPolicy`, and its leases:
 * admission, request checks and counts over one store, in the order the
 * session calls them.
 *
 * @module
 */

import { type CidrSet, compileCidrSet, type Ip, isLoopback, parseIp, toIp } from "./ip.ts";
import {
  type AccessAction,
  type AccessDecision,
  type AccessRequest,
  type AccessRuleConfig,
  compileRules,
  type RequestDecision,
  type RuleSet,
} from "./rules.ts";
import { type AccessStore, type ConnectionCounts, createMemoryAccessStore } from "./store.ts";

/**
 * Why a connection or request was refused: the `reason` label of
 * `proxy_connections_denied_total{listener,reason}`.
 *
 * - `client`: the client is not in the listener's `allowed_clients`
 * - `rule`: an `access_rules` rule (or `default_action`) denied the request
 * - `source_address`: the user may not BIND that source address
 * - `listener_limit`: the listener has `max_connections` sessions
 * - `client_limit`: the client has `max_connections_per_client` sessions on the listener
 * - `user_limit`: the user has `max_connections` sessions
 * - `rate`: the client is past the listener's `connection_rate`
 */
export type DenialReason =
  | "client"
  | "rule"
  | "source_address"
  | "listener_limit"
  | "client_limit"
  | "user_limit"
  | "rate";

/** Every {@linkcode DenialReason}, for declaring the metric's label values up front. */
export const DENIAL_REASONS: readonly DenialReason[] = Object.freeze([
  "client",
  "rule",
  "source_address",
  "listener_limit",
  "client_limit",
  "user_limit",
  "rate",
]);

/** A refusal. */
export interface Denial {
  /** Always `false`. */
  readonly ok: false;
  /** Why. */
  readonly reason: DenialReason;
}

/**
 * Permission held for a session's lifetime; `release()` gives its counts
 * back, once, however often it is called, into the store it was taken
 * from (also after a reload replaced the policy).
 */
export interface Lease {
  /** Always `true`. */
  readonly ok: true;
  /** Give the counts back; calls after the first do nothing. */
  release(): void;
}

/** Outcome of {@linkcode AccessPolicy.admit} and {@linkcode AccessPolicy.acquireUser}. */
export type Admission = Lease | Denial;

/** `N/period` as loaded: at most `limit` per `period` seconds. */
export interface RateConfig {
  /** Events per period, at least 1. */
  limit: number;
  /** The period, in seconds. */
  period: number;
}

/**
 * What {@linkcode compileAccessPolicy} reads from the loaded config (the
 * loaded `Config` has this shape).
 */
export interface AccessConfig {
  /** The proxy listeners. */
  proxy_listeners: readonly {
    /** The listen address; `text` names the listener. */
    listen: { text: string; host: string };
    /** Whether RFC 1929 authentication is required. */
    require_auth?: boolean;
    /** IP addresses and CIDR blocks that may connect; absent: everyone. */
    allowed_clients?: readonly string[];
    /** Most live sessions on the listener. */
    max_connections?: number;
    /** Most live sessions per client IP on the listener. */
    max_connections_per_client?: number;
    /** New connections per client IP on the listener. */
    connection_rate?: RateConfig;
  }[];
  /** The RFC 1929 users. */
  users?: readonly {
    /** The username. */
    username: string;
    /** The BIND source addresses the user may ask for; absent: any. */
    source_addresses?: readonly string[];
    /** Most live sessions of the user. */
    max_connections?: number;
  }[];
  /** The rules, first match wins. */
  access_rules?: readonly AccessRuleConfig[];
  /** When no rule matches. Default `"allow"`. */
  default_action?: AccessAction;
}

/**
 * One limit to check against the store's {@linkcode SharedLimits}, after
 * the local check passed: a rate (`connection_rate`) or a count
 * (`max_connections`, `max_connections_per_client`, `users[].max_connections`).
 */
export type SharedCheck =
  | { readonly kind: "rate"; readonly key: string; readonly limit: number; readonly period: number }
  | {
    readonly kind: "count";
    readonly key: string;
    readonly limit: number;
    readonly reason: DenialReason;
    /** See `SharedCount.group`: the listener text for listener and client keys, the key for a user. */
    readonly group: string;
  };

/** A compiled policy: see {@linkcode compileAccessPolicy}. */
export interface AccessPolicy {
  /** The store counts live in; pass it to the next `compileAccessPolicy` on reload. */
  readonly store: AccessStore;
  /** The compiled rules. */
  readonly rules: RuleSet;
  /**
   * Admit a new connection at accept: the listener's `allowed_clients`,
   * then its `connection_rate` (every attempt from an allowed client takes
   * from the rate, also those then refused for a limit), then
   * `max_connections`, then `max_connections_per_client`. A listener the
   * policy does not know is refused with reason `client`.
   *
   * @param listener the listen text (`proxy_listeners[].listen` as written)
   * @param client the peer address; an IPv4-mapped IPv6 peer counts as its IPv4 address
   * @param nowMs the time for the rate, in milliseconds (default `Date.now()`)
   * @returns a lease to release when the connection closes, or why not
   */
  admit(listener: string, client: string | Ip, nowMs?: number): Admission;
  /** The rules' verdict before resolving a destination name ({@linkcode RuleSet.checkRequest}). */
  checkRequest(req: AccessRequest): RequestDecision;
  /** The rules' verdict for one resolved address ({@linkcode RuleSet.checkResolved}). */
  checkResolved(req: AccessRequest, address: string | Ip): AccessDecision;
  /**
   * Whether `user` may BIND `address` (the user's `source_addresses`).
   * `true` without a user, for a user with no `source_addresses`, and for a
   * username the config does not know; `false` for an address that is not
   * an IP. A refusal answers REP 0x02 with reason `source_address`.
   */
  checkSourceAddress(user: string | undefined, address: string | Ip): boolean;
  /**
   * Count a session of `user` against its `max_connections` (reason
   * `user_limit` when full). Every user is counted, limited or not.
   */
  acquireUser(user: string): Admission;
  /**
   * The configured limits of a connection at accept, for the shared store:
   * the rate (reason `rate`), then `max_connections` (`listener_limit`),
   * then `max_connections_per_client` (`client_limit`), with the same keys
   * as the local ones. Empty when the listener has none (no Redis call).
   */
  sharedChecks(listener: string, client: string | Ip): readonly SharedCheck[];
  /** The user's `max_connections` for the shared store (reason `user_limit`), if one is set. */
  sharedUserCheck(user: string): SharedCheck | undefined;
  /** The listen texts of {@linkcode openProxyListeners} of this config. */
  readonly openProxies: readonly string[];
}

/** Compiled per-listener settings. */
interface ListenerAccess {
  allowed: CidrSet | null;
  maxConnections: number;
  maxPerClient: number;
  rate: RateConfig | undefined;
  key: string;
}

/** A lease over counter keys of one store; releases each key once. */
class CountLease implements Lease {
  readonly ok = true as const;
  #counts: ConnectionCounts | undefined;
  readonly #a: string;
  readonly #b: string | undefined;

  constructor(counts: ConnectionCounts, a: string, b: string | undefined) {
    this.#counts = counts;
    this.#a = a;
    this.#b = b;
  }

  release(): void {
    const counts = this.#counts;
    if (counts === undefined) return;
    this.#counts = undefined;
    counts.release(this.#a);
    if (this.#b !== undefined) counts.release(this.#b);
  }
}

/** The answer of {@linkcode AccessPolicy.sharedChecks} for a listener without limits. */
const NO_CHECKS: readonly SharedCheck[] = Object.freeze([]);

/** The denial objects, made once. */
const DENIALS = Object.fromEntries(
  DENIAL_REASONS.map((reason) => [reason, Object.freeze({ ok: false as const, reason })]),
) as Record<DenialReason, Denial>;

/**
 * Whether a listener is an open proxy: on a non-loopback address (the
 * wildcard addresses `0.0.0.0` and `::` included) with neither
 * `require_auth` nor `allowed_clients`. The server logs one WARN for each.
 */
export function isOpenProxy(listener: AccessConfig["proxy_listeners"][number]): boolean {
  if (listener.require_auth === true || listener.allowed_clients !== undefined) return false;
  const ip = parseIp(listener.listen.host);
  return ip === undefined || !isLoopback(ip);
}

/** The listen texts of the config's open-proxy listeners ({@linkcode isOpenProxy}), in order. */
export function openProxyListeners(config: AccessConfig): string[] {
  return config.proxy_listeners.filter(isOpenProxy).map((l) => l.listen.text);
}

/**
 * Compile a policy from the loaded config, over `store` (a fresh in-memory
 * one by default). On reload, compile the new config over the old policy's
 * `store`: live sessions stay counted and their leases release into the
 * same counters, and the new limits apply to new connections only.
 *
 * Counter keys: `listener <listen>`, `client <listen> <ip>`, `user <name>`;
 * rate keys: `rate <listen> <ip>`.
 *
 * @param config the loaded config (see {@linkcode AccessConfig})
 * @param store where counts and rate state live
 * @throws {TypeError} on a malformed entry the config schema would have refused
 * @example
 * ```ts
 * let policy = compileAccessPolicy(config);
 * // SIGHUP:
 * policy = compileAccessPolicy(newConfig, policy.store);
 * ```
 */
export function compileAccessPolicy(
  config: AccessConfig,
  store: AccessStore = createMemoryAccessStore(),
): AccessPolicy {
  const listeners = new Map<string, ListenerAccess>();
  for (const l of config.proxy_listeners) {
    const text = l.listen.text;
    if (listeners.has(text)) continue; // port-0 listeners written alike share the first one's settings
    listeners.set(text, {
      allowed: l.allowed_clients === undefined ? null : compileCidrSet(l.allowed_clients),
      maxConnections: l.max_connections ?? Infinity,
      maxPerClient: l.max_connections_per_client ?? Infinity,
      rate: l.connection_rate,
      key: `listener ${text}`,
    });
  }
  const users = new Map<string, { sources: CidrSet | null; max: number; key: string }>();
  for (const u of config.users ?? []) {
    users.set(u.username, {
      sources: u.source_addresses === undefined ? null : compileCidrSet(u.source_addresses),
      max: u.max_connections ?? Infinity,
      key: `user ${u.username}`,
    });
  }
  const rules = compileRules(config.access_rules ?? [], config.default_action ?? "allow", {
    listeners: config.proxy_listeners.map((l) => l.listen.text),
  });
  const { counts, rates } = store;

  return {
    store,
    rules,
    openProxies: Object.freeze(openProxyListeners(config)),
    admit(listener: string, client: string | Ip, nowMs?: number): Admission {
      const l = listeners.get(listener);
      if (l === undefined) return DENIALS.client;
      const ip = toIp(client);
      if (l.allowed !== null && (ip === undefined || !l.allowed.has(ip))) return DENIALS.client;
      const clientKey = ip === undefined ? String(client) : ip.key;
      if (l.rate !== undefined) {
        const now = nowMs ?? Date.now();
        if (!rates.take(`rate ${listener} ${clientKey}`, l.rate.limit, l.rate.period, now)) return DENIALS.rate;
      }
      if (!counts.acquire(l.key, l.maxConnections)) return DENIALS.listener_limit;
      const perClient = `client ${listener} ${clientKey}`;
      if (!counts.acquire(perClient, l.maxPerClient)) {
        counts.release(l.key);
        return DENIALS.client_limit;
      }
      return new CountLease(counts, l.key, perClient);
    },
    checkRequest: rules.checkRequest,
    checkResolved: rules.checkResolved,
    checkSourceAddress(user: string | undefined, address: string | Ip): boolean {
      const u = user === undefined ? undefined : users.get(user);
      if (u === undefined || u.sources === null) return true;
      const ip = toIp(address);
      return ip !== undefined && u.sources.has(ip);
    },
    sharedChecks(listener: string, client: string | Ip): readonly SharedCheck[] {
      const l = listeners.get(listener);
      if (l === undefined || (l.rate === undefined && !Number.isFinite(l.maxConnections + l.maxPerClient))) {
        return NO_CHECKS;
      }
      const ip = toIp(client);
      const clientKey = ip === undefined ? String(client) : ip.key;
      const checks: SharedCheck[] = [];
      if (l.rate !== undefined) {
        checks.push({ kind: "rate", key: `rate ${listener} ${clientKey}`, limit: l.rate.limit, period: l.rate.period });
      }
      if (Number.isFinite(l.maxConnections)) {
        checks.push({ kind: "count", key: l.key, limit: l.maxConnections, reason: "listener_limit", group: listener });
      }
      if (Number.isFinite(l.maxPerClient)) {
        checks.push({
          kind: "count",
          key: `client ${listener} ${clientKey}`,
          limit: l.maxPerClient,
          reason: "client_limit",
          group: listener,
        });
      }
      return checks;
    },
    sharedUserCheck(user: string): SharedCheck | undefined {
      const u = users.get(user);
      if (u === undefined || !Number.isFinite(u.max)) return undefined;
      return { kind: "count", key: u.key, limit: u.max, reason: "user_limit", group: u.key };
    },
    acquireUser(user: string): Admission {
      const u = users.get(user);
      const key = u?.key ?? `user ${user}`;
      if (!counts.acquire(key, u?.max ?? Infinity)) return DENIALS.user_limit;
      return new CountLease(counts, key, undefined);
    },
  };
}
