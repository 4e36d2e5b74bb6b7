/**
 * The proxy server: one runtime listener per configured proxy listener, the
 * set of live sessions, and the graceful stop (stop accepting, let open
 * tunnels finish for a grace period, then close what is left). The
 * listener spec is in `listener-spec.ts`, the in-place reload in
 * `reload.ts`, the outbound seam in `dialer.ts`, a session in `session.ts`.
 *
 * One file because it is one class, `ProxyServer`: start, accept, the set of
 * live sessions and the graceful stop share that state (reload, listener
 * specs and the dialer are in their own files).
 *
 * @module
 */
import {
  type Conn,
  formatHostPort,
  KEEPALIVE_SETTINGS,
  type KeepAliveSetting,
  type KeepAliveSupport,
  type NetAddr,
  NetError,
  type Runtime,
} from "../runtime/index.ts";
import {
  type AccessAction,
  type AccessPolicy,
  type AccessRuleConfig,
  compileAccessPolicy,
  createMemoryAccessStore,
  type SharedLimits,
} from "../access/index.ts";
import { getLog, rateLimited } from "../log/index.ts";
import { listenerTls } from "../tls/index.ts";
import type { SessionAccess } from "./access.ts";
import { PolicyAccess } from "./access-control.ts";
import { type UserEntry, UserStore } from "../auth/index.ts";
import { type BindProbe, type Dialer, directDialer } from "./dialer.ts";
import { listenerLabel, type ProxyListenerSpec, sessionSettings } from "./listener-spec.ts";
import { type AcceptErrorReason, NULL_OBSERVER, type ProxyObserver } from "./observer.ts";
import { DescriptorBudget } from "./descriptor-budget.ts";
import { newOutcome } from "./outcome.ts";
import {
  type BoundListener,
  type OpenListener,
  type ProxyServerUpdate,
  type ReconfigureResult,
  reloadListeners,
} from "./reload.ts";
import type { SessionContext, ShutdownState } from "./context.ts";
import { runSession } from "./session.ts";

const log = getLog("server");

/** The out-of-descriptors WARN: at most one line a minute for the whole process. */
const descriptorWarn = rateLimited(log, 60);

/**
 * The `proxy_accept_errors_total` reason of an accept error's errno name
 * (`"EMFILE"` gives `"emfile"`; a name outside {@linkcode AcceptErrorReason} gives `"other"`).
 */
export function acceptErrorReason(code: string): AcceptErrorReason {
  switch (code) {
    case "EMFILE":
      return "emfile";
    case "ENFILE":
      return "enfile";
    case "ENOTCONN":
      return "enotconn";
    case "ECONNABORTED":
      return "econnaborted";
    default:
      return "other";
  }
}

/** Options of {@linkcode ProxyServer.start}. */
export interface ProxyServerOptions {
  /** The runtime to listen and connect with. */
  runtime: Runtime;
  /** The proxy listeners. */
  listeners: readonly ProxyListenerSpec[];
  /** The RFC 1929 users, with their access keys (`source_addresses`, `max_connections`). */
  users: readonly AccessUserEntry[];
  /** `access_rules`: first match wins. Default none. */
  access_rules?: readonly AccessRuleConfig[];
  /** What a request no rule matches gets; default `"allow"`. */
  default_action?: AccessAction;
  /**
   * The process's other listening addresses (the HTTP listeners), read at
   * each check: a CONNECT to one of them, or to one of the proxy listeners,
   * answers REP 0x02.
   */
  selfAddresses?: () => readonly NetAddr[];
  /** Receives session events (metrics); default records nothing. */
  observer?: ProxyObserver;
  /** Opens outbound connections; default connects directly with `runtime.connect`. */
  dial?: Dialer;
  /** Checks a BIND source address; default binds a probe socket via the runtime. */
  probeBind?: BindProbe;
  /**
   * Access hooks for every listener's sessions, in place of the server's
   * own (a {@linkcode PolicyAccess} over `listeners`, `users`,
   * `access_rules` and `default_action`, with the self-connect guard).
   */
  access?: SessionAccess;
  /**
   * Cluster-wide limits (`cluster`, on Redis): the configured connection
   * limits and rates are also checked there, after the local ones. Default
   * none: limits are this process's alone.
   */
  sharedLimits?: SharedLimits;
}

/** A user as the server needs it: the RFC 1929 entry plus its access keys. */
export type AccessUserEntry = UserEntry & {
  /** The BIND source addresses (CIDR blocks) the user may ask for; absent: any. */
  source_addresses?: readonly string[];
  /** Most sessions of the user open at once. */
  max_connections?: number;
};

/** The soft open-file limit is raised once per process, not once per server. */
let fileLimitRaised = false;

/** A running SOCKS5 proxy. Create with {@linkcode ProxyServer.start}. */
export class ProxyServer {
  #listeners: OpenListener[] = [];
  #sessions = new Map<Conn, Promise<unknown>>();
  #accepting = true;
  #runtime: Runtime;
  #observer: ProxyObserver;
  #probeBind: BindProbe;
  #access: SessionAccess;
  #policy: PolicyAccess | undefined;
  #shutdown: ShutdownState = { forced: false };
  #budget: DescriptorBudget;
  /** Connections refused for lack of descriptors since start (the count in the WARN). */
  #refused = 0;

  private constructor(options: ProxyServerOptions) {
    this.#runtime = options.runtime;
    this.#observer = options.observer ?? NULL_OBSERVER;
    this.#budget = new DescriptorBudget(() => options.runtime.descriptors());
    const probeBind = options.probeBind ?? ((address) => options.runtime.probeBind(address));
    this.#probeBind = probeBind;
    if (options.access !== undefined) {
      this.#access = options.access;
    } else {
      const others = options.selfAddresses;
      this.#policy = new PolicyAccess({
        policy: compilePolicy(
          options,
          options.sharedLimits === undefined ? undefined : createMemoryAccessStore({}, options.sharedLimits),
        ),
        observer: this.#observer,
        selfAddresses: () => {
          const own = this.#listeners.map((l) => l.bound.addr);
          return others === undefined ? own : [...own, ...others()];
        },
        isLocal: (address) => probeBind(address).then(() => true, () => false),
      });
      this.#access = this.#policy;
    }
  }

  /**
   * Bind every listener and start serving. Logs `proxy listener on ADDR:PORT`
   * per listener, with the real port, followed by `(TLS)` on a TLS listener,
   * or `(TLS, self-signed certificate for HOST, SHA-256 fingerprint AB:CD:...)`
   * when the certificate was generated (so a client can pin it).
   *
   * @throws {NetError} when a listener cannot be bound (those already bound are closed first).
   */
  static async start(options: ProxyServerOptions): Promise<ProxyServer> {
    const server = new ProxyServer(options);
    if (!fileLimitRaised) {
      fileLimitRaised = true;
      await raiseFileLimit(options.runtime);
    }
    logKeepAliveLimits(options.runtime, options.listeners);
    const users = new UserStore(options.users);
    const dial = server.#dialer(options.dial);
    try {
      for (const spec of options.listeners) server.#listeners.push(await server.#open(spec, users, dial));
    } catch (error) {
      await Promise.all(server.#listeners.map((l) => l.handle.close()));
      throw error;
    }
    if (server.#policy !== undefined) logOpenProxies(server.#policy.policy);
    return server;
  }

  #dialer(dial: Dialer | undefined): Dialer {
    return dial ?? directDialer(this.#runtime);
  }

  /** Bind one listener; its sessions share the returned context (updated in place on reload). */
  async #open(spec: ProxyListenerSpec, users: UserStore, dial: Dialer): Promise<OpenListener> {
    const runtime = this.#runtime;
    const observer = this.#observer;
    // The `listener` label is the bound address, known once bound; until
    // then (nothing is accepted before) the configured text stands in.
    let listener = spec.listen.text;
    const ctx: SessionContext = {
      settings: sessionSettings(spec, listener),
      users,
      dial,
      probeBind: this.#probeBind,
      observer,
      access: this.#access,
      shutdown: this.#shutdown,
    };
    const tls = await listenerTls(spec);
    const handle = await runtime.listen(
      {
        host: spec.listen.host,
        port: spec.listen.port,
        ...(spec.reuse_port === true ? { reusePort: true } : {}),
        ...(tls
          ? {
            tls: { cert: tls.cert, key: tls.key },
            tlsHandshakeTimeout: spec.timeout,
            onTlsHandshakeError: (error, remote) => {
              log.debug("{listener}: TLS handshake with {client} failed: {error}", {
                listener,
                client: formatHostPort(remote),
                error: error.message,
              });
              observer.tlsHandshakeFailed(listener);
              // Not a session, but still one access line (end=error, with a detail).
              if (observer.sessionEnded) {
                const o = newOutcome(listener, remote, spec.listen.text);
                o.detail = `TLS handshake failed: ${error.message}`;
                observer.sessionEnded(o);
              }
            },
          }
          : {}),
        onAcceptError: (code) => this.#acceptFailed(listener, acceptErrorReason(code)),
      },
      (conn) => this.#accept(conn, ctx),
    ).catch((error: Error & { code?: string }) => {
      throw new NetError(
        error.code ?? "EUNKNOWN",
        `cannot listen on ${spec.listen.text}: ${error.code ?? "error"}: ${error.message}`,
        { cause: error },
      );
    });
    const addr = handle.addr;
    const address = formatHostPort(addr);
    listener = listenerLabel(addr);
    ctx.settings = sessionSettings(spec, listener);
    observer.listening?.(listener);
    if (tls?.generated) {
      const { hostname, fingerprint } = tls.generated;
      log.info(
        "proxy listener on {address} (TLS, self-signed certificate for {hostname}, SHA-256 fingerprint {fingerprint})",
        { address, hostname, fingerprint },
      );
    } else if (tls) log.info("proxy listener on {address} (TLS)", { address });
    else log.info("proxy listener on {address}", { address });
    return { spec, bound: { listener, addr }, handle, ctx };
  }

  /**
   * Apply a reloaded configuration (SIGHUP) without touching open tunnels:
   * listeners whose `listen` text is new are bound, those no longer
   * configured stop accepting, and the rest keep their socket with the new
   * settings (a change of TLS material rebinds that one listener). Users and
   * the dialer (egress sources and pools) are replaced for every new request.
   * A listener kept across the reload keeps its port, even when configured
   * with port 0.
   *
   * @throws {NetError} when a new listener cannot be bound; nothing is changed then.
   */
  async reconfigure(update: ProxyServerUpdate): Promise<ReconfigureResult> {
    // Compiled first: a policy that cannot compile changes nothing. Over the
    // old store, so live sessions stay counted under the new limits.
    const policy = this.#policy === undefined ? undefined : compilePolicy(update, this.#policy.policy.store);
    const { next, result } = await reloadListeners(
      this.#listeners,
      update,
      this.#dialer(update.dial),
      (spec, users, dial) => this.#open(spec, users, dial),
    );
    this.#listeners = next;
    if (policy !== undefined) {
      this.#policy!.policy = policy;
      logOpenProxies(policy);
    }
    logKeepAliveLimits(this.#runtime, update.listeners);
    return result;
  }

  #accept(conn: Conn, ctx: SessionContext): void {
    if (!this.#accepting) {
      conn.close();
      return;
    }
    if (!this.#budget.admit(this.#sessions.size)) {
      // Closed at once: the client learns at once, and the process never
      // reaches EMFILE (where Bun's accept loop would spin).
      conn.close();
      this.#acceptFailed(ctx.settings.listener, "emfile");
      return;
    }
    const done = runSession(conn, ctx).finally(() => this.#sessions.delete(conn));
    this.#sessions.set(conn, done);
  }

  /**
   * Count an accept error (`proxy_accept_errors_total`) and, when the
   * process is out of descriptors (`emfile`, `enfile`), say so in one WARN
   * a minute with the number of connections refused so far.
   */
  #acceptFailed(listener: string, reason: AcceptErrorReason): void {
    this.#observer.acceptFailed?.(listener, reason);
    if (reason !== "emfile" && reason !== "enfile") return;
    this.#refused++;
    const limit = this.#budget.limit;
    descriptorWarn.warn(
      "descriptors",
      "out of file descriptors ({reason}, soft limit {limit}, {sessions} sessions open): new connections " +
        "are closed at once until sessions end; {refused} connections refused so far (last on {listener}); raise the " +
        "open-file limit (LimitNOFILE=, ulimit -n)",
      {
        reason,
        limit: limit === 0 ? "unknown" : limit,
        sessions: this.#sessions.size,
        refused: this.#refused,
        listener,
      },
    );
  }

  /** The bound listeners, in configuration order. */
  get listeners(): BoundListener[] {
    return this.#listeners.map((l) => l.bound);
  }

  /** Whether the server still accepts new clients. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** Number of sessions (handshakes and tunnels) open now. */
  get activeSessions(): number {
    return this.#sessions.size;
  }

  /**
   * Stop accepting, wait up to `graceSeconds` for open sessions to finish,
   * then close the rest. Resolves when every session has ended.
   */
  async stop(graceSeconds: number): Promise<void> {
    this.#accepting = false;
    await Promise.all(this.#listeners.map((l) => l.handle.close()));
    log.info("no longer accepting; {count} open sessions have {grace}s to finish", {
      grace: graceSeconds,
      count: this.#sessions.size,
    });
    if (this.#sessions.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, graceSeconds * 1000));
      await Promise.race([Promise.all(this.#sessions.values()), expired]);
      clearTimeout(timer);
      if (this.#sessions.size > 0) {
        log.warn("closing {count} sessions still open after the grace period", { count: this.#sessions.size });
        this.#shutdown.forced = true;
        for (const conn of this.#sessions.keys()) conn.close();
        await Promise.all(this.#sessions.values());
      }
    }
  }
}

/**
 * What `listeners` wrote of `tcp_keepalive` that `support` cannot apply:
 * one entry per setting and reason, with the `listen` texts that wrote it,
 * in the config's order. A listener with `enabled: false` applies nothing
 * and so asks for nothing; a `use_tls` listener needs a setting on its TLS
 * connections and on its (plain TCP) outbound sockets.
 *
 * @example
 * ```ts
 * keepAliveNotes(bunRuntime.keepAliveSupport, [{ listen: { text: "0.0.0.0:1080" }, tcp_keepalive: { interval: 30 } }]);
 * // [{ setting: "interval", why: "the keep-alive interval cannot be set on Bun (...)", listeners: ["0.0.0.0:1080"] }]
 * ```
 */
export function keepAliveNotes(
  support: KeepAliveSupport,
  listeners: readonly Pick<ProxyListenerSpec, "listen" | "use_tls" | "tcp_keepalive">[],
): { setting: KeepAliveSetting; why: string; listeners: string[] }[] {
  const notes = new Map<string, { setting: KeepAliveSetting; why: string; listeners: string[] }>();
  for (const setting of KEEPALIVE_SETTINGS) {
    for (const l of listeners) {
      const ka = l.tcp_keepalive;
      if (ka === undefined || ka.enabled === false || ka[setting] === undefined) continue;
      for (const table of l.use_tls ? [support.tls, support.tcp] : [support.tcp]) {
        const why = table[setting];
        if (why === true) continue;
        const key = `${setting} ${why}`;
        const note = notes.get(key) ?? { setting, why, listeners: [] };
        if (!note.listeners.includes(l.listen.text)) note.listeners.push(l.listen.text);
        notes.set(key, note);
      }
    }
  }
  return [...notes.values()];
}

/**
 * The one start-up notice about `tcp_keepalive`: the settings a listener
 * wrote that the runtime cannot apply ({@linkcode keepAliveNotes}), so a
 * written value is never silently ignored; nothing when there are none
 * (settings left out take the kernel's values, which is what happens).
 */
function logKeepAliveLimits(runtime: Runtime, listeners: readonly ProxyListenerSpec[]): void {
  const notes = keepAliveNotes(runtime.keepAliveSupport, listeners);
  if (notes.length === 0) return;
  log.info("notice: tcp_keepalive is applied only in part on {runtime}: {limits}", {
    runtime: `${runtime.name} ${runtime.version}`,
    limits: notes.map((n) => `${n.setting} (${n.listeners.join(", ")}): ${n.why}`).join("; "),
  });
}

/** The access policy of `config` over `store` (a fresh one at start; the old policy's on reload). */
function compilePolicy(
  config: Pick<ProxyServerOptions, "listeners" | "users" | "access_rules" | "default_action">,
  store: AccessPolicy["store"] | undefined,
): AccessPolicy {
  return compileAccessPolicy({
    proxy_listeners: config.listeners,
    users: config.users,
    access_rules: config.access_rules,
    default_action: config.default_action,
  }, store);
}

/** One WARN per open-proxy listener (non-loopback, neither `require_auth` nor `allowed_clients`), at start and reload. */
function logOpenProxies(policy: AccessPolicy): void {
  // A listener written with a host name is one entry per address, under one listen text.
  for (const listener of new Set(policy.openProxies)) {
    log.warn(
      "{listener} is an open proxy: it listens on a non-loopback address with neither require_auth nor " +
        "allowed_clients, so anyone who reaches it can use it",
      { listener },
    );
  }
}

/**
 * Raise the soft open-file limit to the hard limit (as KumoProxy does) and
 * log both numbers, or say once that the runtime cannot.
 */
async function raiseFileLimit(runtime: Runtime): Promise<void> {
  const limit = await runtime.raiseFileLimit();
  if ("unsupported" in limit) {
    log.info("open-file limit not raised: {why}", { why: limit.unsupported });
  } else {
    log.info("open-file limit: soft {soft} (was {before}), hard {hard}", limit);
  }
}
