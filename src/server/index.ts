/**
 * The SOCKS5 server: listeners, sessions and the relay.
 *
 * @module
 */
export { ProxyServer, type ProxyServerOptions } from "./server.ts";
export { type ProxyListenerSpec } from "./listener-spec.ts";
export { type BoundListener, type ProxyServerUpdate, type ReconfigureResult } from "./reload.ts";
export { type BindProbe, type Dialer, directDialer, type EgressRoute, type OutboundRequest } from "./dialer.ts";
export { type SessionContext, type SessionSettings, type ShutdownState } from "./context.ts";
export { runSession } from "./session.ts";
export { type ClientState, type RequestStatus } from "./request.ts";
export { failureReason, type SessionEnd, type SessionOutcome } from "./outcome.ts";
export { AccessDeniedError, type AccessAnswer, type AccessDecision, type SessionAccess } from "./access.ts";
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
export { checkListener, type HealthcheckOptions, type HealthcheckResult, localTarget } from "./liveness-probe.ts";
