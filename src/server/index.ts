/**
 * The SOCKS5 server: listeners, sessions and the relay.
 *
 * @module
 */
export { type BoundListener, directDialer, type ProxyListenerSpec, ProxyServer, type ProxyServerOptions } from "./server.ts";
export { type BindProbe, type Dialer, type OutboundRequest, type SessionSettings } from "./session.ts";
export { type Direction, type FailureReason, NULL_OBSERVER, type ProxyObserver } from "./observer.ts";
export {
  type AuthLimit,
  type AuthObserver,
  closeSharedHashPool,
  configureAuth,
  DEFAULT_USERS_CACHE_TTL,
  NULL_AUTH_OBSERVER,
  type UserEntry,
  UserStore,
  type UserStoreOptions,
} from "./auth.ts";
export { replyForConnectError } from "./replies.ts";
export { egressDialer, type EgressDialerOptions } from "./egress-dial.ts";
export { checkListener, type HealthcheckOptions, type HealthcheckResult, localTarget } from "./healthcheck.ts";
