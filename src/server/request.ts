/**
 * The requests of a session (RFC 1928 §4) over KumoProxy's client state:
 * KumoMTA's `BIND <source-ip>:0` (none → bound) then CONNECT (none | bound
 * → connected), or a refusal with an error REP, with the `bind` and
 * `connect` access hooks before each.
 *
 * @module
 */
import { type Conn, formatHostPort, withTimeout } from "../runtime/index.ts";
import {
  ATYP,
  type ByteReader,
  CMD,
  decodeRequest,
  encodeReply,
  REP,
  Socks5DomainNameError,
  Socks5EofError,
  Socks5ProtocolError,
} from "../socks5/index.ts";
import { getLog, rateLimited } from "../log/index.ts";
import { AccessDeniedError } from "./access.ts";
import type { SessionContext } from "./context.ts";
import type { OutboundRequest } from "./dialer.ts";
import type { SessionOutcome } from "./outcome.ts";
import { replyForConnectError } from "./replies.ts";
import { denial, type Ended, ended, endedBy, refuse } from "./step.ts";

const log = getLog("server");
/**
 * Failed BINDs can be repeated by any client (before authentication on a
 * no-auth listener): one WARN a minute, with the count of those dropped.
 */
const bindFailures = rateLimited(log, 60);

/**
 * Where a session stands between requests (KumoProxy's `ClientState`):
 * `none` before any request, `bound` after an accepted BIND (the source
 * address is `SessionOutcome.bindAddress`). `Connected` is not a state the
 * request loop sees: a CONNECT hands over to the relay.
 */
export type ClientState = "none" | "bound";

/**
 * What one request led to (KumoProxy's `RequestStatus`): `bound` (state
 * none → bound, read the next request), `connected` (the CONNECT reply was
 * sent; relay over `dest`), or the end of the session.
 */
export type RequestStatus = { readonly kind: "bound" } | { readonly kind: "connected"; readonly dest: Conn } | Ended;
const BOUND = { kind: "bound" } as const;

/**
 * One request (RFC 1928 §4) in `state`: BIND (none → bound; KumoMTA's
 * source-address selection: probe that the address can be bound, answer
 * it as BND.ADDR), CONNECT (none | bound → connected: dial, from the bound
 * source if any, and answer the outbound socket's local address), or a
 * refusal with an error REP: 0x08 for a domain name on a listener that does
 * not allow them (or an unknown ATYP), 0x01 for a second BIND, 0x07 for
 * another command, the mapped connect error (see `replyForConnectError`).
 * A client that closes before sending a request completes the session.
 */
export async function request(
  client: Conn,
  reader: ByteReader,
  ctx: SessionContext,
  o: SessionOutcome,
  state: ClientState,
  expire: () => void,
): Promise<RequestStatus> {
  const { settings } = ctx;
  let req;
  try {
    req = await withTimeout("request", settings.timeout, () => reader.next(decodeRequest), expire);
  } catch (error) {
    // A client that closes between messages (e.g. a health check that
    // stops after the greeting or the BIND) ends its session cleanly.
    if (error instanceof Socks5EofError && error.received.length === 0) {
      return ended(o, "completed", "client closed the connection before sending a request");
    }
    // A DOMAINNAME no resolver accepts (a NUL byte, a bad label): answered
    // like a failed lookup (0x04) before any runtime call, or 0x08 where
    // domain names are not accepted at all; a request answered, so completed.
    if (error instanceof Socks5DomainNameError) {
      const rep = settings.allowDomainNames ? error.rep! : REP.ADDRESS_TYPE_NOT_SUPPORTED;
      return refuse(client, o, rep, "completed", `DOMAINNAME refused: ${error.problem}`);
    }
    // A malformed request that still deserves a reply (unknown ATYP: 0x08).
    if (error instanceof Socks5ProtocolError && error.rep !== undefined) {
      o.reply = error.rep;
      await client.write(encodeReply(error.rep)).catch(() => {});
    }
    return endedBy(o, error);
  }
  o.command = req.cmd;
  if (req.atyp === ATYP.DOMAINNAME && !settings.allowDomainNames) {
    return refuse(
      client,
      o,
      REP.ADDRESS_TYPE_NOT_SUPPORTED,
      "completed",
      "domain names are not allowed on this listener",
    );
  }
  try {
    if (req.cmd === CMD.BIND) {
      if (state !== "none") {
        return refuse(client, o, REP.GENERAL_FAILURE, "completed", "BIND is accepted only as the first request");
      }
      const source = req.dstAddr.host;
      const hook = ctx.access?.bind;
      const denied = hook && await denial(hook.call(ctx.access, o, source));
      if (denied !== undefined) return refuse(client, o, REP.CONNECTION_NOT_ALLOWED, "denied", denied);
      try {
        await ctx.probeBind(source);
      } catch (error) {
        bindFailures.warn("bind", "BIND of source address {address} failed: {error}", {
          address: source,
          error: String(error),
        });
        return refuse(client, o, replyForConnectError(error), "completed", `BIND ${source} failed`);
      }
      o.bindAddress = source;
      o.reply = REP.SUCCEEDED;
      await client.write(encodeReply(REP.SUCCEEDED, { host: source, port: 0 }));
      return BOUND;
    }
    if (req.cmd !== CMD.CONNECT) {
      return refuse(client, o, REP.COMMAND_NOT_SUPPORTED, "completed", `command ${req.cmd} is not supported`);
    }
    const destination = req.dstAddr;
    o.destination = destination;
    const hook = ctx.access?.connect;
    const denied = hook && await denial(hook.call(ctx.access, o, destination));
    if (denied !== undefined) return refuse(client, o, REP.CONNECTION_NOT_ALLOWED, "denied", denied);
    // connect() classifies its own errors; anything else reaches runSession's catch.
    return connect(client, ctx, o);
  } catch (error) {
    return endedBy(o, error);
  }
}

/** The CONNECT itself: dial within `timeout`, answer success with the outbound socket's local address. */
async function connect(client: Conn, ctx: SessionContext, o: SessionOutcome): Promise<RequestStatus> {
  const { settings, access } = ctx;
  const checkAddress = access?.connectAddress;
  let outbound: OutboundRequest | undefined;
  let dest: Conn;
  try {
    dest = await withTimeout("connect", settings.timeout, (signal) => {
      outbound = {
        destination: o.destination!,
        localAddress: o.bindAddress,
        username: o.user,
        egressPool: settings.egressPool,
        signal,
        timeout: settings.timeout,
        addressFamily: settings.addressFamily,
      };
      if (checkAddress) outbound.checkAddress = (address) => checkAddress.call(access, o, address);
      return ctx.dial(outbound);
    });
  } catch (error) {
    log.debug("CONNECT {destination} failed: {error}", {
      destination: formatHostPort(o.destination!),
      error: String(error),
    });
    const rep = replyForConnectError(error);
    return refuse(
      client,
      o,
      rep,
      error instanceof AccessDeniedError ? "denied" : "completed",
      `CONNECT ${formatHostPort(o.destination!)} failed`,
    );
  }
  const route = outbound!.route;
  if (route !== undefined) {
    o.egressPool = route.pool;
    o.egressSource = route.source;
  }
  if (settings.keepAlive) dest.setKeepAlive(settings.keepAlive);
  ctx.observer.outbound(o.listener, formatHostPort(o.destination!));
  const local = dest.localAddr;
  o.localAddress = local;
  if (ctx.observer.sessionEnded) o.connected = dest.remoteAddr;
  o.reply = REP.SUCCEEDED;
  try {
    await client.write(encodeReply(REP.SUCCEEDED, local));
  } catch (error) {
    dest.close();
    return endedBy(o, error);
  }
  return { kind: "connected", dest };
}
