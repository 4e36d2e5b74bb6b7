/**
 * SOCKS5 (RFC 1928) with username/password authentication (RFC 1929): the
 * protocol alone, with no I/O of its own.
 *
 * - constants named as the RFCs name them (`SOCKS_VERSION`, `METHOD`, `CMD`,
 *   `ATYP`, `REP`, `AUTH_STATUS`);
 * - a wire codec (`codec.ts`): pure decoders (`null` = need more bytes, else
 *   `{ value, length }`) and encoders for both sides; this index exports the
 *   server side, which `server/` uses, and `client.ts` uses the client side;
 * - {@linkcode ByteReader}, which feeds a connection's chunks to a decoder;
 * - the client handshake egress uses to talk to upstream proxies
 *   ({@linkcode socks5ClientHandshake}, {@linkcode socks5Probe}).
 *
 * @example
 * ```ts
 * import { ByteReader, decodeGreeting, encodeMethodSelection, METHOD } from "./index.ts";
 * const reader = new ByteReader(conn);
 * const { methods } = await reader.next(decodeGreeting);
 * await conn.write(encodeMethodSelection(
 *   methods.includes(METHOD.NO_AUTHENTICATION_REQUIRED)
 *     ? METHOD.NO_AUTHENTICATION_REQUIRED
 *     : METHOD.NO_ACCEPTABLE_METHODS,
 * ));
 * ```
 *
 * @module
 */
export { ATYP, AUTH_STATUS, CMD, METHOD, REP, SOCKS_VERSION } from "./constants.ts";
export { Socks5ClientError, Socks5DomainNameError, Socks5EofError, Socks5ProtocolError } from "./errors.ts";
export type { SocksAddress } from "./address.ts";
export {
  decodeGreeting,
  decodeRequest,
  decodeUsernamePasswordRequest,
  encodeMethodSelection,
  encodeReply,
  encodeUsernamePasswordReply,
} from "./codec.ts";
export { ByteReader } from "./reader.ts";
export { domainNameProblem, isResolvableDomainName } from "./domain-name.ts";
export { socks5ClientHandshake, type Socks5Credentials, socks5Probe } from "./client.ts";
