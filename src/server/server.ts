/**
 * The proxy server: one runtime listener per configured proxy listener, the
 * set of live sessions, and the graceful stop (stop accepting, let open
 * tunnels finish for a grace period, then close what is left).
 *
 * @module
 */
import { type Conn, type Listener, type NetAddr, NetError, type Runtime } from "../runtime/types.ts";
import { probeBind as probeBind_ } from "../runtime/bind-probe.ts";
import { getLog } from "../log/index.ts";
import { listenerTls } from "../tls/index.ts";
import { UserStore, type UserEntry } from "./auth.ts";
import { NULL_OBSERVER, type ProxyObserver } from "./observer.ts";
import { type BindProbe, type Dialer, runSession, type SessionSettings } from "./session.ts";

const log = getLog("server");

/** One proxy listener as the server needs it (a subset of the `proxy_listeners` config entry). */
export interface ProxyListenerSpec {
  /** Address to listen on; `text` is the configured `listen` string (the metrics label). */
  listen: { hostname: string; port: number; text: string };
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

/** A running SOCKS5 proxy. Create with {@linkcode ProxyServer.start}. */
export class ProxyServer {
  #listeners: { spec: BoundListener; handle: Listener }[] = [];
  #sessions = new Map<Conn, Promise<void>>();
  #accepting = true;

  private constructor() {}

  /**
   * Bind every listener and start serving. Logs `proxy listener on ADDR:PORT`
   * per listener, with the real port, followed by `(TLS)` on a TLS listener,
   * or `(TLS, self-signed certificate for HOST, SHA-256 fingerprint AB:CD:...)`
   * when the certificate was generated (so a client can pin it).
   *
   * @throws {NetError} when a listener cannot be bound (those already bound are closed first).
   */
  static async start(options: ProxyServerOptions): Promise<ProxyServer> {
    const server = new ProxyServer();
    const { runtime } = options;
    const users = new UserStore(options.users);
    const observer = options.observer ?? NULL_OBSERVER;
    const dial: Dialer = options.dial ??
      ((req) =>
        runtime.connect({
          hostname: req.destination.host,
          port: req.destination.port,
          localAddress: req.localAddress,
          signal: req.signal,
        }));
    const probeBind = options.probeBind ?? probeBind_;
    logKeepAliveLimits(runtime, options.listeners);
    try {
      for (const spec of options.listeners) {
        const listener = spec.listen.text;
        const keepAlive = spec.tcp_keepalive?.enabled
          ? { enabled: true, time: spec.tcp_keepalive.time }
          : undefined;
        const settings: SessionSettings = {
          listener,
          timeout: spec.timeout,
          requireAuth: spec.require_auth,
          allowDomainNames: spec.allow_domain_names,
          egressPool: spec.egress_pool,
          ...(keepAlive ? { keepAlive } : {}),
        };
        const ctx = { settings, users, dial, probeBind, observer };
        const tls = await listenerTls(spec);
        const handle = await runtime.listen(
          {
            hostname: spec.listen.hostname,
            port: spec.listen.port,
            ...(tls
              ? {
                tls: { cert: tls.cert, key: tls.key },
                tlsHandshakeTimeout: spec.timeout,
                onTlsHandshakeError: (error, remote) => {
                  log.debug("{listener}: TLS handshake with {client} failed: {error}", {
                    listener,
                    client: formatAddr(remote),
                    error: error.message,
                  });
                  observer.tlsHandshakeFailed(listener);
                },
              }
              : {}),
          },
          (conn) => server.#accept(conn, ctx),
        ).catch((error: Error & { code?: string }) => {
          throw new NetError(
            error.code ?? "EUNKNOWN",
            `cannot listen on ${spec.listen.text}: ${error.code ?? "error"}: ${error.message}`,
            { cause: error },
          );
        });
        const addr = handle.addr;
        server.#listeners.push({ spec: { listener: spec.listen.text, addr }, handle });
        const address = formatAddr(addr);
        if (tls?.generated) {
          const { hostname, fingerprint } = tls.generated;
          log.info(
            "proxy listener on {address} (TLS, self-signed certificate for {hostname}, SHA-256 fingerprint {fingerprint})",
            { address, hostname, fingerprint },
          );
        } else if (tls) log.info("proxy listener on {address} (TLS)", { address });
        else log.info("proxy listener on {address}", { address });
      }
    } catch (error) {
      await Promise.all(server.#listeners.map((l) => l.handle.close()));
      throw error;
    }
    return server;
  }

  #accept(conn: Conn, ctx: Parameters<typeof runSession>[1]): void {
    if (!this.#accepting) {
      conn.close();
      return;
    }
    const done = runSession(conn, ctx).finally(() => this.#sessions.delete(conn));
    this.#sessions.set(conn, done);
  }

  /** The bound listeners, in configuration order. */
  get listeners(): BoundListener[] {
    return this.#listeners.map((l) => l.spec);
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

/** `ADDR:PORT`, with brackets around IPv6 literals. */
export function formatAddr(addr: NetAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}
