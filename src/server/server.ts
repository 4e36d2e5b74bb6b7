/**
 * The proxy server: one runtime listener per configured proxy listener, the
 * set of live sessions, and the graceful stop (stop accepting, let open
 * tunnels finish for a grace period, then close what is left).
 *
 * @module
 */
import { type Conn, formatHostPort, type Listener, type NetAddr, NetError, type Runtime } from "../runtime/index.ts";
import { getLog } from "../log/index.ts";
import { listenerTls } from "../tls/index.ts";
import { UserStore, type UserEntry } from "./auth.ts";
import { NULL_OBSERVER, type ProxyObserver } from "./observer.ts";
import { type BindProbe, type Dialer, runSession, type SessionSettings } from "./session.ts";

const log = getLog("server");

/** One proxy listener as the server needs it (a subset of the `proxy_listeners` config entry). */
export interface ProxyListenerSpec {
  /** Address to listen on; `text` is the configured `listen` string (the metrics label). */
  listen: { host: string; port: number; text: string };
  /** Handshake-step and outbound-connect bound, seconds. */
  timeout: number;
  /** KumoProxy's `require_auth`. */
  require_auth: boolean;
  /** Accept ATYP DOMAINNAME requests. */
  allow_domain_names: boolean;
  /** Pool for CONNECTs without a preceding BIND (passed to the dialer as `OutboundRequest.egressPool`). */
  egress_pool?: string;
  /** Serve TLS (KumoProxy's `use_tls`); see {@linkcode listenerTls} for the certificate used. */
  use_tls?: boolean;
  /** PEM certificate chain (`tls_certificate`, resolved by the config loader). */
  tls_certificate?: string;
  /** PEM private key (`tls_private_key`, resolved and checked against the certificate). */
  tls_private_key?: string;
  /** Host name of a generated certificate (KumoProxy's `hostname`; default the system host name). */
  hostname?: string;
  /**
   * KumoProxy's `tcp_keepalive` (seconds), applied to accepted and outbound
   * sockets when `enabled`; `interval` and `retries` cannot be applied by
   * either runtime and are only reported (one start-up notice).
   */
  tcp_keepalive?: { enabled: boolean; time: number; interval?: number; retries?: number };
}

/** Options of {@linkcode ProxyServer.start}. */
export interface ProxyServerOptions {
  runtime: Runtime;
  listeners: readonly ProxyListenerSpec[];
  users: readonly UserEntry[];
  /** Receives session events (metrics); default records nothing. */
  observer?: ProxyObserver;
  /** Opens outbound connections; default connects directly with `runtime.connect`. */
  dial?: Dialer;
  /** Checks a BIND source address; default binds a probe socket via the runtime. */
  probeBind?: BindProbe;
}

/** A bound proxy listener. */
export interface BoundListener {
  /** The configured `listen` text. */
  listener: string;
  /** The real bound address (the real port when 0 was configured). */
  addr: NetAddr;
}

/**
 * The {@linkcode Dialer} without egress: connect straight to DST.ADDR, from
 * the BIND-pinned source address when there is one.
 */
export function directDialer(runtime: Runtime): Dialer {
  return (req) =>
    runtime.connect({
      host: req.destination.host,
      port: req.destination.port,
      localAddress: req.localAddress,
      signal: req.signal,
    });
}

/** What a reload may replace: see {@linkcode ProxyServer.reconfigure}. */
export interface ProxyServerUpdate {
  listeners: readonly ProxyListenerSpec[];
  users: readonly UserEntry[];
  /** Opens outbound connections; default connects directly with `runtime.connect`. */
  dial?: Dialer;
}

/** What {@linkcode ProxyServer.reconfigure} did, by `listen` text. */
export interface ReconfigureResult {
  added: string[];
  removed: string[];
  /** Settings changed in place (timeout, require_auth, ...) or TLS material changed (rebound). */
  changed: string[];
}

type SessionContext = Parameters<typeof runSession>[1];

/** One open proxy listener: its spec, runtime handle and the context its sessions share. */
interface OpenListener {
  spec: ProxyListenerSpec;
  bound: BoundListener;
  handle: Listener;
  ctx: SessionContext;
}

function sessionSettings(spec: ProxyListenerSpec): SessionSettings {
  const keepAlive = spec.tcp_keepalive?.enabled ? { enabled: true, time: spec.tcp_keepalive.time } : undefined;
  return {
    listener: spec.listen.text,
    timeout: spec.timeout,
    requireAuth: spec.require_auth,
    allowDomainNames: spec.allow_domain_names,
    egressPool: spec.egress_pool,
    ...(keepAlive ? { keepAlive } : {}),
  };
}

/** Whether two specs need different sockets (TLS material is fixed when the socket is bound). */
function needsRebind(a: ProxyListenerSpec, b: ProxyListenerSpec): boolean {
  return Boolean(a.use_tls) !== Boolean(b.use_tls) || a.tls_certificate !== b.tls_certificate ||
    a.tls_private_key !== b.tls_private_key || a.hostname !== b.hostname;
}

/** A running SOCKS5 proxy. Create with {@linkcode ProxyServer.start}. */
export class ProxyServer {
  #listeners: OpenListener[] = [];
  #sessions = new Map<Conn, Promise<void>>();
  #accepting = true;
  #runtime: Runtime;
  #observer: ProxyObserver;
  #probeBind: BindProbe;

  private constructor(options: ProxyServerOptions) {
    this.#runtime = options.runtime;
    this.#observer = options.observer ?? NULL_OBSERVER;
    this.#probeBind = options.probeBind ?? ((address) => options.runtime.probeBind(address));
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
    logKeepAliveLimits(options.runtime, options.listeners);
    const users = new UserStore(options.users);
    const dial = server.#dialer(options.dial);
    try {
      for (const spec of options.listeners) server.#listeners.push(await server.#open(spec, users, dial));
    } catch (error) {
      await Promise.all(server.#listeners.map((l) => l.handle.close()));
      throw error;
    }
    return server;
  }

  #dialer(dial: Dialer | undefined): Dialer {
    return dial ?? directDialer(this.#runtime);
  }

  /** Bind one listener; its sessions share the returned context (updated in place on reload). */
  async #open(spec: ProxyListenerSpec, users: UserStore, dial: Dialer): Promise<OpenListener> {
    const runtime = this.#runtime;
    const observer = this.#observer;
    const listener = spec.listen.text;
    const ctx: SessionContext = { settings: sessionSettings(spec), users, dial, probeBind: this.#probeBind, observer };
    const tls = await listenerTls(spec);
    const handle = await runtime.listen(
      {
        host: spec.listen.host,
        port: spec.listen.port,
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
            },
          }
          : {}),
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
    const users = new UserStore(update.users);
    const dial = this.#dialer(update.dial);
    const current = new Map(this.#listeners.map((l) => [l.spec.listen.text, l]));
    const result: ReconfigureResult = { added: [], removed: [], changed: [] };
    const opened: OpenListener[] = [];
    const next: OpenListener[] = [];
    const retired: OpenListener[] = [];
    const kept: [OpenListener, ProxyListenerSpec][] = [];
    try {
      for (const spec of update.listeners) {
        const old = current.get(spec.listen.text);
        current.delete(spec.listen.text);
        if (old && !needsRebind(old.spec, spec)) {
          next.push(old);
          kept.push([old, spec]);
          if (JSON.stringify(sessionSettings(old.spec)) !== JSON.stringify(sessionSettings(spec))) {
            result.changed.push(spec.listen.text);
          }
          continue;
        }
        if (old) {
          // New TLS material: free the address first, then bind it again.
          await old.handle.close();
          retired.push(old);
          result.changed.push(spec.listen.text);
        } else {
          result.added.push(spec.listen.text);
        }
        const fresh = await this.#open(spec, users, dial);
        opened.push(fresh);
        next.push(fresh);
      }
    } catch (error) {
      await Promise.all(opened.map((l) => l.handle.close()));
      // Put back any listener closed to be rebound with new TLS material.
      for (const old of retired) {
        const index = this.#listeners.indexOf(old);
        this.#listeners[index] = await this.#open(old.spec, old.ctx.users, old.ctx.dial).catch((reopenError) => {
          log.error("{listener}: cannot bind again after a failed reload: {error}", {
            listener: old.spec.listen.text,
            error: String(reopenError),
          });
          return old;
        });
      }
      throw error;
    }
    for (const gone of current.values()) {
      await gone.handle.close();
      result.removed.push(gone.spec.listen.text);
      log.info("proxy listener on {address} closed (no longer configured)", { address: formatHostPort(gone.bound.addr) });
    }
    for (const [old, spec] of kept) old.spec = spec;
    for (const l of next) {
      l.ctx.settings = sessionSettings(l.spec);
      l.ctx.users = users;
      l.ctx.dial = dial;
    }
    this.#listeners = next;
    logKeepAliveLimits(this.#runtime, update.listeners);
    return result;
  }

  #accept(conn: Conn, ctx: SessionContext): void {
    if (!this.#accepting) {
      conn.close();
      return;
    }
    const done = runSession(conn, ctx).finally(() => this.#sessions.delete(conn));
    this.#sessions.set(conn, done);
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
        for (const conn of this.#sessions.keys()) conn.close();
        await Promise.all(this.#sessions.values());
      }
    }
  }
}

/**
 * The one start-up notice about `tcp_keepalive`: what the runtime cannot
 * apply (`Runtime.keepAliveLimits`), logged once when any listener has
 * keep-alive enabled, so the configured values are never silently ignored.
 */
function logKeepAliveLimits(runtime: Runtime, listeners: readonly ProxyListenerSpec[]): void {
  if (runtime.keepAliveLimits.length === 0 || !listeners.some((l) => l.tcp_keepalive?.enabled)) return;
  log.info("notice: tcp_keepalive is applied only in part on {runtime}: {limits}", {
    runtime: `${runtime.name} ${runtime.version}`,
    limits: runtime.keepAliveLimits.join("; "),
  });
}
