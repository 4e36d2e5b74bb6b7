/**
 * The SOCKS5 server: listeners, sessions and the relay.
 *
 * @module
 */
export { type AccessUserEntry, ProxyServer, type ProxyServerOptions } from "./server.ts";
export { PolicyAccess, type PolicyAccessOptions } from "./access-control.ts";
export { type ProxyListenerSpec } from "./listener-spec.ts";
export { type BoundListener, type ProxyServerUpdate, type ReconfigureResult } from "./reload.ts";
export {
  type AddressFamilyPreference,
  type BindProbe,
  type Dialer,
  directDialer,
  type DirectDialerOptions,
  type EgressRoute,
  orderAddresses,
  type OutboundRequest,
} from "./dialer.ts";
export { type SessionContext, type SessionSettings, type ShutdownState } from "./context.ts";
export { runSession } from "./session.ts";
export { type ClientState, type RequestStatus } from "./request.ts";
export { accessEnd, failureReason, newOutcome, type SessionEnd, type SessionOutcome } from "./outcome.ts";
export { accessFields, logSession, withAccessLog } from "./access-log.ts";
export { type AccessAnswer, type AccessDecision, AccessDeniedError, type SessionAccess } from "./access.ts";
export {
  type AcceptErrorReason,
  DENIED_REASONS,
  type DeniedReason,
  type Direction,
  type FailureReason,
  NULL_OBSERVER,
  type ProxyObserver,
} from "./observer.ts";
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
} from "../auth/index.ts";
export { replyForConnectError } from "./replies.ts";
export { egressDialer, type EgressDialerOptions } from "./egress-dial.ts";
export { checkListener, type HealthcheckOptions, type HealthcheckResult, localTarget } from "./liveness-probe.ts";
