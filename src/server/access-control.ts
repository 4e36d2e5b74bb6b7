/**
 * The {@linkcode SessionAccess} hooks over a compiled `AccessPolicy`
 * (issue 9): `allowed_clients`, `connection_rate` and the connection limits
 * at accept, the user's `max_connections` and `source_addresses` at the
 * first request, `access_rules` by name before resolving and by address
 * before connecting, and the self-connect guard (issue 16): a CONNECT to
 * one of the proxy's own listeners (SOCKS or HTTP, a wildcard listener
 * reached by any local address included) is refused whatever the rules say.
 *
 * Every refusal is counted (`ProxyObserver.connectionDenied`, the
 * `proxy_connections_denied_total{listener,reason}` metric) and logged at
 * INFO with the client, user, what was asked and what refused it, through
 * a rate limiter so a flood cannot flood the log.
 *
 * With cluster-wide limits (the policy store's `shared`, `cluster`), a
 * configured limit is checked locally first, then across instances; the
 * cluster leases are given back with the local ones. Without `shared`, or
 * with no limit configured, nothing more happens (no Redis call).
 *
 * @module
 */
import {
  type AccessPolicy,
  type AccessRequest,
  type Admission,
  type DenialReason,
  type Ip,
  isLoopback,
  type Lease,
  parseIp,
  type SharedCheck,
  type SharedLease,
  type SharedLimits,
} from "../access/index.ts";
import { formatHostPort, type NetAddr } from "../runtime/index.ts";
import { getLog, rateLimited } from "../log/index.ts";
import type { SocksAddress } from "../socks5/index.ts";
import type { AccessAnswer, AccessDecision, SessionAccess } from "./access.ts";
import type { DeniedReason, ProxyObserver } from "./observer.ts";
import type { SessionOutcome } from "./outcome.ts";

const log = getLog("server", "access");
/** One line per listener, reason and rule per second at most; the rest are counted in the next line. */
const denialLog = rateLimited(log, 1);

/** Per-session state of the hooks: the leases to give back, and what the CONNECT check left to do. */
interface SessionState {
  /** The client address, parsed once. */
  client: string | Ip;
  lease: Lease | undefined;
  user: Lease | undefined;
  /** Cluster-wide leases (connection limits at accept, the user's limit). */
  shared: SharedLease[] | undefined;
  /** The rules need each resolved address of the destination name checked. */
  needsAddress: boolean;
  /** The CONNECT destination was an IP literal already checked in full. */
  literalChecked: boolean;
}

/** Options of {@linkcode PolicyAccess}. */
export interface PolicyAccessOptions {
  /** The compiled policy; replace it on reload with {@linkcode PolicyAccess.policy}. */
  policy: AccessPolicy;
  /** Receives `connectionDenied` for every refusal. */
  observer: ProxyObserver;
  /** The proxy's own listening addresses (SOCKS and HTTP), read per check: a CONNECT to one is refused. */
  selfAddresses: () => readonly NetAddr[];
  /** Whether an address is local (can be bound): a wildcard listener is reached by any local address. */
  isLocal: (address: string) => Promise<boolean>;
}

const ALLOW = Object.freeze({ allow: true as const });

/** The `Ip` of a session's client. */
function clientIp(o: Readonly<SessionOutcome>): string | Ip {
  return parseIp(o.client.host) ?? o.client.host;
}

/** Whether `host` is one of the wildcard addresses. */
function isWildcard(ip: Ip): boolean {
  return ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0 && ip.w3 === 0;
}

/**
 * The access hooks of a server's sessions over one `AccessPolicy` at a
 * time; see the module docs. One instance per server: `policy` is replaced
 * on reload, and sessions already past a hook keep what it decided.
 */
export class PolicyAccess implements SessionAccess {
  /** The policy new decisions use (replaced on reload; compile the new one over this one's `store`). */
  policy: AccessPolicy;
  readonly #observer: ProxyObserver;
  readonly #selfAddresses: () => readonly NetAddr[];
  readonly #isLocal: (address: string) => Promise<boolean>;
  readonly #sessions = new WeakMap<Readonly<SessionOutcome>, SessionState>();

  /** @param options see {@linkcode PolicyAccessOptions} */
  constructor(options: PolicyAccessOptions) {
    this.policy = options.policy;
    this.#observer = options.observer;
    this.#selfAddresses = options.selfAddresses;
    this.#isLocal = options.isLocal;
  }

  /** Count, log and answer a refusal. */
  #deny(o: Readonly<SessionOutcome>, reason: DeniedReason, asked: string, by: string): AccessDecision {
    this.#observer.connectionDenied?.(o.listener, reason);
    denialLog.log(
      "info",
      `${o.listener} ${reason} ${by}`,
      "{listener}: refused {client} (user {user}): {asked}: {by}",
      { listener: o.listener, client: o.client.host, user: o.user ?? "-", asked, by },
    );
    return { allow: false, reason: `${reason}: ${by}` };
  }

  /** At accept: `allowed_clients`, `connection_rate`, `max_connections`, `max_connections_per_client`. */
  admit(o: Readonly<SessionOutcome>): AccessAnswer {
    const client = clientIp(o);
    const admitted: Admission = this.policy.admit(o.listen, client);
    if (!admitted.ok) {
      return this.#deny(o, admitted.reason, "connection", LIMIT_TEXT[admitted.reason]);
    }
    const shared = this.policy.store.shared;
    const checks = shared === undefined ? undefined : this.policy.sharedChecks(o.listen, client);
    if (checks !== undefined && checks.length > 0) return this.#admitShared(o, client, admitted, shared!, checks);
    this.#sessions.set(o, newState(client, admitted));
    return ALLOW;
  }

  /**
   * The cluster-wide part of {@linkcode admit}: the rate, then every count
   * in one call (all or none); a refusal gives the local lease back.
   */
  async #admitShared(
    o: Readonly<SessionOutcome>,
    client: string | Ip,
    admitted: Lease,
    shared: SharedLimits,
    checks: readonly SharedCheck[],
  ): Promise<AccessDecision> {
    const counts: (SharedCheck & { kind: "count" })[] = [];
    for (const check of checks) {
      if (check.kind === "count") counts.push(check);
      else if (await shared.take(check.key, check.limit, check.period) === false) {
        admitted.release();
        return this.#deny(o, "rate", "connection", LIMIT_TEXT.rate);
      }
    }
    const lease = counts.length === 0 ? undefined : await shared.acquire(counts);
    if (typeof lease === "number") {
      admitted.release();
      const reason = counts[lease].reason;
      return this.#deny(o, reason, "connection", LIMIT_TEXT[reason]);
    }
    const state = newState(client, admitted);
    if (lease !== undefined) state.shared = [lease];
    this.#sessions.set(o, state);
    return ALLOW;
  }

  /** The session's state (a session admitted by another hook set still gets one). */
  #state(o: Readonly<SessionOutcome>): SessionState {
    let state = this.#sessions.get(o);
    if (state === undefined) {
      state = newState(clientIp(o), undefined);
      this.#sessions.set(o, state);
    }
    return state;
  }

  /**
   * At the first request of an authenticated session: the user's
   * `max_connections`, locally, then (when set and `shared`) across
   * instances, which answers later.
   */
  #user(
    o: Readonly<SessionOutcome>,
    state: SessionState,
    asked: string,
  ): AccessDecision | undefined | Promise<AccessDecision | undefined> {
    if (o.user === undefined || state.user !== undefined) return undefined;
    const policy = this.policy;
    const lease = policy.acquireUser(o.user);
    if (!lease.ok) return this.#deny(o, "user_limit", asked, "users[].max_connections");
    state.user = lease;
    const shared = policy.store.shared;
    const check = shared === undefined ? undefined : policy.sharedUserCheck(o.user);
    if (check === undefined) return undefined;
    return shared!.acquire([check as SharedCheck & { kind: "count" }]).then((got) => {
      if (typeof got === "number") {
        lease.release();
        state.user = undefined;
        return this.#deny(o, "user_limit", asked, "users[].max_connections");
      }
      if (got !== undefined) (state.shared ??= []).push(got);
      return undefined;
    });
  }

  /** The rules' request for this session. */
  #request(
    o: Readonly<SessionOutcome>,
    state: SessionState,
    command: "connect" | "bind",
    extra: Partial<AccessRequest>,
  ): AccessRequest {
    return {
      listener: o.listen,
      client: state.client,
      user: o.user,
      command,
      sourceAddress: o.bindAddress,
      ...extra,
    };
  }

  /** Before BIND: the user's limit, its `source_addresses`, then the rules (command `bind`). */
  bind(o: Readonly<SessionOutcome>, source: string): AccessAnswer {
    const asked = `BIND ${source}`;
    const state = this.#state(o);
    const limited = this.#user(o, state, asked);
    if (limited instanceof Promise) {
      return limited.then((denied) => denied ?? this.#bindChecks(o, state, source, asked));
    }
    if (limited !== undefined) return limited;
    return this.#bindChecks(o, state, source, asked);
  }

  /** The part of {@linkcode bind} after the user's limit. */
  #bindChecks(o: Readonly<SessionOutcome>, state: SessionState, source: string, asked: string): AccessDecision {
    const policy = this.policy;
    if (!policy.checkSourceAddress(o.user, source)) {
      return this.#deny(o, "source_address", asked, "users[].source_addresses");
    }
    const decision = policy.checkRequest(this.#request(o, state, "bind", { sourceAddress: source }));
    if (decision.action === "deny") return this.#deny(o, "rule", asked, ruleText(decision.ruleIndex));
    return ALLOW;
  }

  /**
   * Before CONNECT: the user's limit, then the rules by DST.ADDR as asked
   * (a name by name); an IP literal is also checked against the proxy's
   * own listeners here.
   */
  async connect(o: Readonly<SessionOutcome>, destination: SocksAddress): Promise<AccessDecision> {
    const asked = `CONNECT ${formatHostPort(destination)}`;
    const state = this.#state(o);
    const user = this.#user(o, state, asked);
    // Awaited only when a shared limit made it a promise (the local path stays synchronous).
    const limited = user instanceof Promise ? await user : user;
    if (limited !== undefined) return limited;
    const decision = this.policy.checkRequest(
      this.#request(o, state, "connect", { destination: destination.host, port: destination.port }),
    );
    if (!decision.needsAddress && decision.action === "deny") {
      return this.#deny(o, "rule", asked, ruleText(decision.ruleIndex));
    }
    state.needsAddress = decision.needsAddress;
    if (parseIp(destination.host) !== undefined) {
      const answer = await this.#address(o, state, { host: destination.host, port: destination.port }, asked);
      if (!answer.allow) return answer;
      state.literalChecked = true;
    }
    return ALLOW;
  }

  /** Before connecting to one resolved address: the proxy's own listeners, then the rules by address. */
  connectAddress(o: Readonly<SessionOutcome>, address: NetAddr): AccessAnswer {
    const state = this.#state(o);
    if (state.literalChecked) return ALLOW;
    const asked = `CONNECT ${o.destination === undefined ? "?" : formatHostPort(o.destination)} (${address.host})`;
    return this.#address(o, state, address, asked);
  }

  /** The self guard and, when the name check left it open, the rules for one address. */
  async #address(
    o: Readonly<SessionOutcome>,
    state: SessionState,
    address: NetAddr,
    asked: string,
  ): Promise<AccessDecision> {
    if (await this.#isSelf(address)) return this.#deny(o, "self", asked, "a listener of this proxy");
    if (state.needsAddress) {
      const decision = this.policy.checkResolved(
        this.#request(o, state, "connect", { destination: o.destination?.host, port: address.port }),
        address.host,
      );
      if (decision.action === "deny") return this.#deny(o, "rule", asked, ruleText(decision.ruleIndex));
    }
    return ALLOW;
  }

  /** Whether `address` reaches one of the proxy's own listeners. Only listener ports cost more than a loop. */
  async #isSelf(address: NetAddr): Promise<boolean> {
    const ip = parseIp(address.host);
    if (ip === undefined) return false;
    let wildcard = false;
    for (const own of this.#selfAddresses()) {
      if (own.port !== address.port) continue;
      const ownIp = parseIp(own.host);
      if (ownIp === undefined) continue;
      if (isWildcard(ownIp)) wildcard = true;
      else if (ownIp.key === ip.key) return true;
    }
    if (!wildcard) return false;
    if (isLoopback(ip) || isWildcard(ip)) return true;
    return await this.#isLocal(ip.key);
  }

  /** When the session ends: give its leases back (into the store they came from, also after a reload). */
  ended(o: Readonly<SessionOutcome>): void {
    const state = this.#sessions.get(o);
    if (state === undefined) return;
    this.#sessions.delete(o);
    state.lease?.release();
    state.user?.release();
    if (state.shared !== undefined) { for (const lease of state.shared) lease.release(); }
  }
}

/** A session's state before any limit or rule check. */
function newState(client: string | Ip, lease: Lease | undefined): SessionState {
  return { client, lease, user: undefined, shared: undefined, needsAddress: false, literalChecked: false };
}

/** What refused a connection at accept, for the log line. */
const LIMIT_TEXT: Record<DenialReason, string> = {
  client: "not in allowed_clients",
  rate: "connection_rate",
  listener_limit: "max_connections",
  client_limit: "max_connections_per_client",
  user_limit: "users[].max_connections",
  source_address: "users[].source_addresses",
  rule: "access_rules",
};

/** `access_rules[3] (deny)` or `default_action (deny)`. */
function ruleText(index: number | undefined): string {
  return index === undefined ? "default_action (deny)" : `access_rules[${index}] (deny)`;
}
