/**
 * What a session runs with: its listener's {@linkcode SessionSettings} and
 * the {@linkcode SessionContext} the server shares between a listener's
 * sessions (updated in place on reload).
 *
 * @module
 */
import type { KeepAlive } from "../runtime/index.ts";
import type { SessionAccess } from "./access.ts";
import type { UserStore } from "../auth/index.ts";
import type { AddressFamilyPreference, BindProbe, Dialer } from "./dialer.ts";
import type { ProxyObserver } from "./observer.ts";

/** The settings of the listener a session belongs to. */
export interface SessionSettings {
  /**
   * The listener's bound address (`formatHostPort` of `Listener.addr`: the
   * real port when the config says 0), used as the `listener` label.
   */
  listener: string;
  /** The listener's configured `listen` text (what access rules and limits match). */
  listen: string;
  /** Bound on each handshake step and on the outbound connect, seconds (`timeout`). */
  timeout: number;
  /** KumoProxy's `require_auth`. */
  requireAuth: boolean;
  /** Whether ATYP DOMAINNAME is accepted (`allow_domain_names`). */
  allowDomainNames: boolean;
  /** The listener's `egress_pool`, if any. */
  egressPool?: string;
  /**
   * TCP keep-alive for the client socket and the outbound socket, whatever
   * the {@linkcode Dialer} (KumoProxy's `tcp_keepalive`); unset leaves the
   * kernel default. What a runtime cannot set is listed in
   * `Runtime.keepAliveSupport`.
   */
  keepAlive?: KeepAlive;
  /** Close a tunnel after this many seconds without a byte either way (`idle_timeout`); absent or 0: never. */
  idleTimeout?: number;
  /** Which addresses of a destination name a direct CONNECT tries, in which order (`address_family_preference`). */
  addressFamily?: AddressFamilyPreference;
}

/** Shared by every session of a server: set when the server closes what outlived the grace period. */
export interface ShutdownState {
  /** True once `ProxyServer.stop` force-closes the remaining sessions. */
  forced: boolean;
}

/** What a session needs from the server around it (one per listener; updated in place on reload). */
export interface SessionContext {
  settings: SessionSettings;
  users: UserStore;
  dial: Dialer;
  probeBind: BindProbe;
  observer: ProxyObserver;
  /** Access hooks; absent allows everything (a server sets its `PolicyAccess`). */
  access?: SessionAccess;
  /** The server's shutdown flag, for the `"shutdown"` end; absent outside a server. */
  shutdown?: ShutdownState;
}
