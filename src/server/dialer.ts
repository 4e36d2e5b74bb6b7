/**
 * The outbound side as a session sees it: the {@linkcode Dialer} that opens
 * the connection for a CONNECT, the {@linkcode BindProbe} that checks a
 * BIND source address, and {@linkcode directDialer}, the dialer without
 * egress.
 *
 * @module
 */
import type { Conn, NetAddr, Runtime } from "../runtime/index.ts";
import type { SocksAddress } from "../socks5/index.ts";
import type { AccessAnswer } from "./access.ts";

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
  /**
   * The access hook for each resolved address (`SessionAccess.connectAddress`),
   * when one is configured: a dialer that resolves DST.ADDR itself calls it
   * before each address and rejects with `AccessDeniedError` when all are
   * denied. {@linkcode directDialer} does not resolve (the runtime's connect
   * does) and does not call it yet.
   */
  checkAddress?: (address: NetAddr) => AccessAnswer;
  /**
   * Set by the dialer: the egress pool (and source, when known) the
   * connection went through; copied to the session outcome.
   */
  route?: EgressRoute;
}

/** Which egress pool and source carried a CONNECT. */
export interface EgressRoute {
  /** The pool's name. */
  pool: string;
  /** The source's name within the pool, when the pool reports it. */
  source?: string;
}

/** Opens the outbound connection for a CONNECT (directly, or through an egress pool). */
export type Dialer = (request: OutboundRequest) => Promise<Conn>;

/**
 * Checks that a local address can be bound, for KumoMTA's `BIND <source-ip>:0`.
 * Rejects (with a `code` such as `EADDRNOTAVAIL`) when it cannot.
 */
export type BindProbe = (address: string) => Promise<void>;

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
