/**
 * One client connection on a proxy listener: the SOCKS5 state machine of
 * RFC 1928 (method negotiation, requests) and RFC 1929 (username/password),
 * with KumoMTA's BIND-then-CONNECT source-address selection, then the relay.
 *
 * Method negotiation follows the reference (KumoProxy) order:
 * 1. USERNAME/PASSWORD offered: select it and authenticate (even when the
 *    listener does not require authentication);
 * 2. else, if the listener requires authentication: NO ACCEPTABLE METHODS;
 * 3. else, if NO AUTHENTICATION REQUIRED is offered: select it;
 * 4. else NO ACCEPTABLE METHODS.
 *
 * @module
 */
import { type Conn, formatHostPort, type KeepAlive, StepTimeoutError, withTimeout } from "../runtime/index.ts";
import {
  ATYP,
  ByteReader,
  CMD,
  decodeGreeting,
  decodeRequest,
  decodeUsernamePasswordRequest,
  encodeMethodSelection,
  encodeReply,
  encodeUsernamePasswordReply,
  METHOD,
  REP,
  AUTH_STATUS,
  Socks5EofError,
  Socks5ProtocolError,
  type SocksAddress,
  SOCKS_VERSION,
} from "../socks5/index.ts";
import { getLog } from "../log/index.ts";
import type { UserStore } from "./auth.ts";
import type { FailureReason, ProxyObserver } from "./observer.ts";
import { relay } from "./relay.ts";
import { replyForConnectError } from "./replies.ts";


const log = getLog("server");

/** The settings of the listener a session belongs to. */
export interface SessionSettings {
  /** The listener's `listen` text, used as the `listener` label. */
  listener: string;
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
   * `Runtime.keepAliveLimits`.
   */
  keepAlive?: KeepAlive;
}

/** What a session asks of the outbound side. */
export interface OutboundRequest {
  /** DST.ADDR and DST.PORT of the CONNECT request. */
  destination: SocksAddress;
  /** The source address pinned by a preceding BIND, if any. */
  localAddress?: string;
  /** The RFC 1929 username the client authenticated as, if any. */
  username?: string;
  /** The `egress_pool` of the listener the client came in on, if any (a user's pool wins over it). */
  egressPool?: string;
  /** Aborted when the listener `timeout` expires. */
  signal: AbortSignal;
  /**
   * The listener `timeout` that `signal` enforces, seconds: egress pools
   * give each source a share of it (its default `connect_timeout`).
   */
  timeout?: number;
}

/** Opens the outbound connection for a CONNECT (directly, or through an egress pool). */
export type Dialer = (request: OutboundRequest) => Promise<Conn>;

/**
 * Checks that a local address can be bound, for KumoMTA's `BIND <source-ip>:0`.
 * Rejects (with a `code` such as `EADDRNOTAVAIL`) when it cannot.
 */
export type BindProbe = (address: string) => Promise<void>;

/** What a session needs from the server around it. */
export interface SessionContext {
  settings: SessionSettings;
  users: UserStore;
  dial: Dialer;
  probeBind: BindProbe;
  observer: ProxyObserver;
}

class SessionEnd extends Error {
  constructor(readonly reason: FailureReason | "completed", message: string) {
    super(message);
  }
}

/**
 * Serve one accepted client connection to its end; never rejects. Closes the
 * client socket when done and reports to `ctx.observer`.
 */
export async function runSession(client: Conn, ctx: SessionContext): Promise<void> {
  const { settings, observer } = ctx;
  const listener = settings.listener;
  observer.accepted(listener);
  if (settings.keepAlive) client.setKeepAlive(settings.keepAlive);
  const started = performance.now();
  const reader = new ByteReader(client);
  const step = <T>(name: string, work: () => Promise<T>) =>
    withTimeout(name, settings.timeout, () => work(), () => client.close());
  let username: string | undefined;
  try {
    // Method negotiation (RFC 1928 §3).
    let versionOk = false;
    let greeting;
    try {
      greeting = await step("greeting", () =>
        reader.next((bytes: Uint8Array) => {
          versionOk = bytes.length > 0 && bytes[0] === SOCKS_VERSION;
          return decodeGreeting(bytes);
        }));
    } catch (error) {
      // A SOCKS5 client that offered no usable method list (NMETHODS 0) gets
      // NO ACCEPTABLE METHODS; anything else that is not SOCKS5 is just closed.
      if (error instanceof Socks5ProtocolError && versionOk) {
        await client.write(encodeMethodSelection(METHOD.NO_ACCEPTABLE_METHODS)).catch(() => {});
      }
      throw error;
    }
    const offered = greeting.methods;
    if (offered.includes(METHOD.USERNAME_PASSWORD)) {
      await client.write(encodeMethodSelection(METHOD.USERNAME_PASSWORD));
      // RFC 1929 §2.
      const auth = await step("authentication", () => reader.next(decodeUsernamePasswordRequest));
      if (!(await ctx.users.verify(auth.username, auth.password))) {
        observer.authFailed(listener);
        await client.write(encodeUsernamePasswordReply(AUTH_STATUS.FAILURE)).catch(() => {});
        throw new SessionEnd("auth", `authentication failed for user ${JSON.stringify(auth.username)}`);
      }
      username = auth.username;
      await client.write(encodeUsernamePasswordReply(AUTH_STATUS.SUCCESS));
    } else if (settings.requireAuth || !offered.includes(METHOD.NO_AUTHENTICATION_REQUIRED)) {
      await client.write(encodeMethodSelection(METHOD.NO_ACCEPTABLE_METHODS)).catch(() => {});
      throw new SessionEnd("handshake", `no acceptable method among [${offered.join(", ")}]`);
    } else {
      await client.write(encodeMethodSelection(METHOD.NO_AUTHENTICATION_REQUIRED));
    }

    // Requests (RFC 1928 §4): an optional BIND (KumoMTA's source selection), then CONNECT.
    let localAddress: string | undefined;
    for (let index = 0;; index++) {
      let request;
      try {
        request = await step("request", () => reader.next(decodeRequest));
      } catch (error) {
        // A client that closes between messages (e.g. a health check that
        // stops after the greeting or the BIND) ends its session cleanly.
        if (error instanceof Socks5EofError && error.received.length === 0) {
          throw new SessionEnd("completed", "client closed the connection before sending a request");
        }
        // A malformed request that still deserves a reply (unknown ATYP: 0x08).
        if (error instanceof Socks5ProtocolError && error.rep !== undefined) {
          await client.write(encodeReply(error.rep)).catch(() => {});
        }
        throw error;
      }
      const refuse = async (rep: number, why: string): Promise<never> => {
        await client.write(encodeReply(rep, { host: "0.0.0.0", port: 0 })).catch(() => {});
        throw new SessionEnd("completed", why);
      };
      if (request.atyp === ATYP.DOMAINNAME && !settings.allowDomainNames) {
        await refuse(REP.ADDRESS_TYPE_NOT_SUPPORTED, "domain names are not allowed on this listener");
      }
      if (request.cmd === CMD.BIND) {
        if (index > 0) await refuse(REP.GENERAL_FAILURE, "BIND is accepted only as the first request");
        try {
          await ctx.probeBind(request.dstAddr.host);
        } catch (error) {
          log.warn("BIND of source address {address} failed: {error}", {
            address: request.dstAddr.host,
            error: String(error),
          });
          await refuse(replyForConnectError(error), `BIND ${request.dstAddr.host} failed`);
        }
        localAddress = request.dstAddr.host;
        await client.write(encodeReply(REP.SUCCEEDED, { host: localAddress, port: 0 }));
        continue;
      }
      if (request.cmd !== CMD.CONNECT) {
        await refuse(REP.COMMAND_NOT_SUPPORTED, `command ${request.cmd} is not supported`);
      }
      const destination = request.dstAddr;
      let dest: Conn;
      try {
        dest = await withTimeout(
          "connect",
          settings.timeout,
          (signal) =>
            ctx.dial({
              destination,
              localAddress,
              username,
              egressPool: settings.egressPool,
              signal,
              timeout: settings.timeout,
            }),
        );
      } catch (error) {
        log.debug("CONNECT {destination} failed: {error}", { destination: formatHostPort(destination), error: String(error) });
        await refuse(replyForConnectError(error), `CONNECT ${formatHostPort(destination)} failed`);
        return; // unreachable: refuse always throws
      }
      if (settings.keepAlive) dest.setKeepAlive(settings.keepAlive);
      observer.outbound(listener, formatHostPort(destination));
      try {
        await client.write(encodeReply(REP.SUCCEEDED, { host: dest.localAddr.host, port: dest.localAddr.port }));
      } catch (error) {
        dest.close();
        throw error;
      }
      observer.handshakeDone(listener, (performance.now() - started) / 1000);
      const early = reader.takeBuffered();
      if (early.length > 0) {
        await dest.write(early);
        observer.relayed(listener, "client_to_dest", early.length);
      }
      const result = await relay(client, dest, (direction, n) => observer.relayed(listener, direction, n));
      if (result.error !== undefined) throw new SessionEnd("relay", `relay error: ${String(result.error)}`);
      log.debug("tunnel to {destination} closed: {up} bytes up, {down} bytes down", {
        destination: formatHostPort(destination),
        up: result.clientToDest + early.length,
        down: result.destToClient,
      });
      observer.completed(listener);
      return;
    }
  } catch (error) {
    if (error instanceof SessionEnd && error.reason === "completed") {
      log.debug("{listener}: {message}", { listener, message: error.message });
      observer.completed(listener);
    } else {
      const reason: FailureReason = error instanceof SessionEnd
        ? error.reason as FailureReason
        : error instanceof StepTimeoutError
        ? "timeout"
        : "handshake";
      log.debug("{listener}: session failed ({reason}): {error}", {
        listener,
        reason,
        error: error instanceof Error ? error.message : String(error),
      });
      observer.failed(listener, reason);
    }
  } finally {
    client.close();
    observer.closed(listener);
  }
}
