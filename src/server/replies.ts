/**
 * Mapping from outbound connect errors to RFC 1928 §6 reply codes, as the
 * reference implementation (KumoProxy) answers them.
 *
 * @module
 */
import { REP } from "../socks5/index.ts";

/**
 * The REP code for an error raised while connecting to DST.ADDR:
 * ENETUNREACH 0x03, EHOSTUNREACH and a failed name lookup (ENOTFOUND) 0x04,
 * ECONNREFUSED 0x05, ETIMEDOUT 0x06 (TTL expired: the reference uses it for
 * time-outs), anything else 0x01 (general failure), among them EMFILE and
 * ENFILE: the proxy itself is out of file descriptors (an egress source
 * classes that as `"Local"`, never against the source). An error that carries
 * a numeric `rep` (an upstream SOCKS5 proxy's error reply to CONNECT,
 * passed on by egress) is answered with that REP.
 */
export function replyForConnectError(error: unknown): number {
  const rep = (error as { rep?: unknown })?.rep;
  if (typeof rep === "number" && rep >= REP.GENERAL_FAILURE && rep <= REP.ADDRESS_TYPE_NOT_SUPPORTED) return rep;
  const code = (error as { code?: unknown })?.code;
  switch (code) {
    case "ENETUNREACH":
      return REP.NETWORK_UNREACHABLE;
    case "EHOSTUNREACH":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return REP.HOST_UNREACHABLE;
    case "ECONNREFUSED":
      return REP.CONNECTION_REFUSED;
    case "ETIMEDOUT":
      return REP.TTL_EXPIRED;
    default:
      return REP.GENERAL_FAILURE;
  }
}
