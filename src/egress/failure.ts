/**
 * Classifying the failures of a connect through an egress source into the
 * classes that feed suspension (KumoMTA's `source_health`): the proxy's
 * fault (`ProxyUnhealthy`), a local source address that is not on this host
 * (`Unplumbed`), or a failure about the destination, which does not count
 * against the source. {@linkcode EgressSource} throws a
 * {@linkcode ConnectFailure} from each step and turns the one that ends the
 * attempt into an `EgressConnectError`.
 *
 * The rules (DESIGN.md, "Failure classes that feed suspension"):
 * - the proxy unreachable, refusing, timing out (not done with the steps
 *   before CONNECT within `connect_timeout`), breaking the protocol before
 *   CONNECT, answering the BIND of the source address with an error, or
 *   starting a CONNECT reply and not completing it in time: `ProxyUnhealthy`;
 * - binding `source_address` failing with `EADDRNOTAVAIL` (Deno: `EINVAL`):
 *   `Unplumbed`;
 * - an upstream's complete error reply to CONNECT, or no byte of a reply
 *   before the caller's deadline, and a direct connect refused, unreachable
 *   or timed out: `Destination`;
 * - when a proxy has several addresses and all fail, one combined failure:
 *   `Unplumbed` when every address failed that way, else `ProxyUnhealthy`.
 *
 * @module
 */
import { Socks5ClientError } from "../socks5/index.ts";
import type { ConnectFailureClass, FailureKind } from "./errors.ts";
import type { HandshakePhase } from "./handshake-deadline.ts";

/**
 * Errno names of a connect that failed for lack of this process's own
 * resources (descriptors, buffers, memory): the `"Local"` class, never the
 * source's or the destination's fault.
 */
const LOCAL_CODES: ReadonlySet<string> = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/** Errno names of a local bind that failed because the address is not on this host. */
const UNPLUMBED_CODES: ReadonlySet<string> = new Set(["EADDRNOTAVAIL", "EINVAL"]);

/** The details a {@linkcode ConnectFailure} carries into `EgressConnectError`. */
export interface ConnectFailureDetail {
  /** Errno name (destination failures), e.g. `"ECONNREFUSED"`. */
  code?: string;
  /** REP of an upstream's error reply to CONNECT (destination failures). */
  rep?: number;
  /** The underlying error(s). */
  cause?: unknown;
}

/**
 * One step of a connect failed, already classified. Internal to egress: the
 * source turns it into an `EgressConnectError` for its callers.
 */
export class ConnectFailure extends Error {
  /**
   * @param kind whose fault it is
   * @param message what went wrong, for the error message and the log
   * @param extra code, REP and cause
   */
  constructor(
    readonly kind: ConnectFailureClass,
    message: string,
    readonly extra: ConnectFailureDetail = {},
  ) {
    super(message);
    this.name = "ConnectFailure";
  }
}

/** The `code` of an error (`"ECONNREFUSED"`...), when it has a string one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The message of an error, or the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `error` as a {@linkcode ConnectFailure}: itself when it already is one,
 * else a failure of class `otherwise` with the error's message and code.
 */
export function asConnectFailure(error: unknown, otherwise: ConnectFailureClass): ConnectFailure {
  if (error instanceof ConnectFailure) return error;
  return new ConnectFailure(otherwise, errorMessage(error), { code: errorCode(error), cause: error });
}

/**
 * Classify a failed `connect(2)` (to the destination, or to a proxy):
 * `Local` when this process is out of descriptors or memory (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM: the socket could not even be made), `Unplumbed`
 * when a `sourceAddress` was to be bound and the errno says it is not on
 * this host, else `otherwise` (`"Destination"` for a direct
 * connect, `"ProxyUnhealthy"` for a connect to a proxy).
 *
 * @param error what `Runtime.connect` threw
 * @param sourceAddress the local address bound first, if any
 * @param otherwise the class of any other failure
 */
export function classifyConnectError(
  error: unknown,
  sourceAddress: string | undefined,
  otherwise: ConnectFailureClass,
): ConnectFailure {
  const code = errorCode(error);
  if (code !== undefined && LOCAL_CODES.has(code)) {
    return new ConnectFailure("Local", `out of local resources: ${errorMessage(error)}`, { code, cause: error });
  }
  if (sourceAddress !== undefined && code !== undefined && UNPLUMBED_CODES.has(code)) {
    return new ConnectFailure("Unplumbed", `binding source_address ${sourceAddress}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return new ConnectFailure(otherwise, errorMessage(error), { code, cause: error });
}

/** What {@linkcode classifyHandshakeError} needs to know of the attempt's deadlines (a `HandshakeWatch`). */
export interface HandshakeState {
  /** The attempt's signal: aborted when the caller gave up or a bound ran out. */
  readonly signal: AbortSignal;
  /** Where the attempt stood: before CONNECT, waiting for its reply, or in the middle of it. */
  readonly phase: HandshakePhase;
}

/**
 * Classify a failed SOCKS5 client handshake: a complete error reply to
 * CONNECT, or no byte of a reply before the deadline, is about the
 * destination (the upstream was busy reaching it: counting that against the
 * proxy would suspend a healthy proxy whenever an MX host drops SYNs);
 * everything before CONNECT (greeting, RFC 1929, the BIND of the source
 * address, including an error reply to it, and running out of
 * `connect_timeout` in any of them), any malformed or missing CONNECT reply,
 * and a CONNECT reply that started but did not complete in time are the
 * proxy's failure.
 *
 * @param error what the handshake threw
 * @param state the attempt's signal and phase when it failed
 */
export function classifyHandshakeError(error: unknown, state: HandshakeState): ConnectFailure {
  if (error instanceof Socks5ClientError) {
    if (error.stage === "connect" && error.rep !== undefined) {
      return new ConnectFailure("Destination", error.message, { rep: error.rep, cause: error });
    }
    if (error.stage === "connect" && state.signal.aborted && state.phase === "awaiting-reply") {
      return new ConnectFailure("Destination", error.message, { code: "ETIMEDOUT", cause: error });
    }
    return new ConnectFailure("ProxyUnhealthy", error.message, { cause: error });
  }
  if (error instanceof RangeError) {
    // The request could not be encoded (e.g. a domain name over 255 bytes).
    return new ConnectFailure("Destination", error.message, { code: "EINVAL", cause: error });
  }
  return new ConnectFailure("ProxyUnhealthy", errorMessage(error), { cause: error });
}

/** One address of a proxy and why it failed. */
export interface AddressFailure {
  /** `HOST:PORT` of the address tried. */
  address: string;
  /** Its classified failure. */
  failure: ConnectFailure;
}

/**
 * One failure out of the per-address failures of a proxy, which counts
 * once: `Unplumbed` when every address failed that way, else
 * `ProxyUnhealthy`; the message lists every address with its reason.
 *
 * @param server `HOST:PORT` of the proxy as configured
 * @param failures each address tried, in order
 */
export function combineFailures(server: string, failures: readonly AddressFailure[]): ConnectFailure {
  if (failures.length === 0) return new ConnectFailure("ProxyUnhealthy", `proxy ${server} has no address`);
  if (failures.length === 1) {
    const [{ address, failure }] = failures;
    return new ConnectFailure(failure.kind, `proxy ${address}: ${failure.message}`, failure.extra);
  }
  const kind: FailureKind = failures.every((f) => f.failure.kind === "Unplumbed") ? "Unplumbed" : "ProxyUnhealthy";
  const detail = failures.map((f) => `${f.address}: ${f.failure.message}`).join("; ");
  return new ConnectFailure(kind, `every address of proxy ${server} failed: ${detail}`, {
    cause: new AggregateError(failures.map((f) => f.failure)),
  });
}
