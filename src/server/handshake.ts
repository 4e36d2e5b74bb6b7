/**
 * The handshake before any request: method negotiation (RFC 1928 §3) in
 * the reference (KumoProxy) order, then username/password authentication
 * (RFC 1929) and the `authenticated` access hook.
 *
 * Method negotiation follows the reference (KumoProxy) order, with one
 * exception:
 * 0. a listener that does not require authentication on a server with no
 *    configured users selects NO AUTHENTICATION REQUIRED when the client
 *    offers it, even beside USERNAME/PASSWORD: there is nobody to
 *    authenticate as, and clients such as connect-proxy always offer both
 *    (KumoProxy gets away with selecting 0x02 because its Lua callback may
 *    accept anyone; a user table with no users accepts no one);
 * 1. USERNAME/PASSWORD offered: select it and authenticate (even when the
 *    listener does not require authentication);
 * 2. else, if the listener requires authentication: NO ACCEPTABLE METHODS;
 * 3. else, if NO AUTHENTICATION REQUIRED is offered: select it;
 * 4. else NO ACCEPTABLE METHODS.
 *
 * @module
 */
import { type Conn, formatHostPort, withTimeout } from "../runtime/index.ts";
import { getLog, rateLimited } from "../log/index.ts";
import {
  AUTH_STATUS,
  type ByteReader,
  decodeGreeting,
  decodeUsernamePasswordRequest,
  encodeMethodSelection,
  encodeUsernamePasswordReply,
  METHOD,
  Socks5ProtocolError,
  SOCKS_VERSION,
} from "../socks5/index.ts";
import type { SessionContext } from "./context.ts";
import type { SessionOutcome } from "./outcome.ts";
import { denial, type Ended, ended, endedBy } from "./step.ts";

/**
 * The WARN of a failed RFC 1929 login (KumoProxy logs it at WARN with the
 * peer address): one line per client IP and username per minute; the
 * next one after a quiet spell says how many were dropped.
 */
const authFailureWarn = rateLimited(getLog("server"), 60);

/** What method negotiation selected (RFC 1928 §3), or the end of the session. */
export type Negotiated = { readonly kind: "selected"; readonly method: number } | Ended;
const SELECTED_NO_AUTH = { kind: "selected", method: METHOD.NO_AUTHENTICATION_REQUIRED } as const;
const SELECTED_USERNAME_PASSWORD = { kind: "selected", method: METHOD.USERNAME_PASSWORD } as const;

/** What the authentication step led to. */
export type Authenticated = { readonly kind: "authenticated" } | Ended;
const AUTHENTICATED = { kind: "authenticated" } as const;

// The fixed replies of the handshake, encoded once and shared by every
// session (no runtime modifies a buffer it is given to write).
const NO_METHODS_REPLY = encodeMethodSelection(METHOD.NO_ACCEPTABLE_METHODS);
const NO_AUTH_REPLY = encodeMethodSelection(METHOD.NO_AUTHENTICATION_REQUIRED);
const USERNAME_PASSWORD_REPLY = encodeMethodSelection(METHOD.USERNAME_PASSWORD);
const AUTH_SUCCESS_REPLY = encodeUsernamePasswordReply(AUTH_STATUS.SUCCESS);
const AUTH_FAILURE_REPLY = encodeUsernamePasswordReply(AUTH_STATUS.FAILURE);

/**
 * Method negotiation (RFC 1928 §3), in the reference order (see the module
 * docs). A SOCKS5 greeting with no usable method list (NMETHODS 0) is
 * answered NO ACCEPTABLE METHODS; anything that is not SOCKS5 is closed
 * without a reply.
 */
export async function negotiate(
  client: Conn,
  reader: ByteReader,
  ctx: SessionContext,
  o: SessionOutcome,
  expire: () => void,
): Promise<Negotiated> {
  let offered: number[];
  try {
    offered = (await withTimeout("greeting", ctx.settings.timeout, () => reader.next(decodeGreeting), expire)).methods;
  } catch (error) {
    if (error instanceof Socks5ProtocolError && reader.takeBuffered()[0] === SOCKS_VERSION) {
      await client.write(NO_METHODS_REPLY).catch(() => {});
    }
    return endedBy(o, error);
  }
  try {
    const noUsers = !ctx.settings.requireAuth && ctx.users.size === 0;
    if (
      offered.includes(METHOD.USERNAME_PASSWORD) && !(noUsers && offered.includes(METHOD.NO_AUTHENTICATION_REQUIRED))
    ) {
      await client.write(USERNAME_PASSWORD_REPLY);
      return SELECTED_USERNAME_PASSWORD;
    }
    if (ctx.settings.requireAuth || !offered.includes(METHOD.NO_AUTHENTICATION_REQUIRED)) {
      await client.write(NO_METHODS_REPLY).catch(() => {});
      return ended(o, "no_acceptable_method", `no acceptable method among [${offered.join(", ")}]`);
    }
    await client.write(NO_AUTH_REPLY);
    return SELECTED_NO_AUTH;
  } catch (error) {
    return endedBy(o, error);
  }
}

/**
 * Username/password authentication (RFC 1929 §2) when `method` is 0x02,
 * then the `authenticated` access hook. A failed check answers status 0x01
 * and ends the session `auth_failed`.
 */
export async function authenticate(
  client: Conn,
  reader: ByteReader,
  ctx: SessionContext,
  o: SessionOutcome,
  method: number,
  expire: () => void,
): Promise<Authenticated> {
  try {
    if (method === METHOD.USERNAME_PASSWORD) {
      const auth = await withTimeout(
        "authentication",
        ctx.settings.timeout,
        () => reader.next(decodeUsernamePasswordRequest),
        expire,
      );
      if (!(await ctx.users.verify(auth.username, auth.password, client.remoteAddr.host))) {
        ctx.observer.authFailed(o.listener);
        // The formatters escape control characters in the (client-chosen) username.
        authFailureWarn.warn(
          `${o.client.host} ${auth.username}`,
          "{listener}: authentication failed for user {user} from {client}",
          { listener: o.listener, user: auth.username, client: formatHostPort(o.client) },
        );
        o.user = auth.username;
        await client.write(AUTH_FAILURE_REPLY).catch(() => {});
        return ended(o, "auth_failed", `authentication failed for user ${JSON.stringify(auth.username)}`);
      }
      o.user = auth.username;
    }
    const hook = ctx.access?.authenticated;
    const denied = hook && await denial(hook.call(ctx.access, o));
    if (denied !== undefined) {
      if (method === METHOD.USERNAME_PASSWORD) {
        await client.write(AUTH_FAILURE_REPLY).catch(() => {});
      }
      return ended(o, "denied", denied);
    }
    if (method === METHOD.USERNAME_PASSWORD) await client.write(AUTH_SUCCESS_REPLY);
    return AUTHENTICATED;
  } catch (error) {
    return endedBy(o, error);
  }
}
