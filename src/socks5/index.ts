/**
 * SOCKS5 (RFC 1928) with username/password authentication (RFC 1929): the
 * protocol alone, with no I/O of its own.
 *
 * - constants named as the RFCs name them (`SOCKS_VERSION`, `METHOD`, `CMD`,
 *   `ATYP`, `REP`, `AUTH_STATUS`);
 * - a wire codec: pure decoders (`null` = need more bytes, else
 *   `{ value, length }`) and encoders for both sides;
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
export {
  ATYP,
  type Atyp,
  AUTH_STATUS,
  type AuthStatus,
  CMD,
  type Cmd,
  GSSAPI,
  METHOD,
  type Method,
  NO_ACCEPTABLE_METHODS,
  NO_AUTHENTICATION_REQUIRED,
  REP,
  type Rep,
  repText,
  SOCKS_VERSION,
  USERNAME_PASSWORD,
  USERNAME_PASSWORD_VERSION,
} from "./constants.ts";
export {
  Socks5ClientError,
  type Socks5ClientStage,
  Socks5EofError,
  Socks5ProtocolError,
} from "./errors.ts";
export {
  addressType,
  decodeAddress,
  type DecodedAddress,
  encodeAddress,
  type SocksAddress,
} from "./address.ts";
export {
  type Decoded,
  decodeGreeting,
  decodeMethodSelection,
  type Decoder,
  decodeReply,
  decodeRequest,
  decodeUsernamePasswordReply,
  decodeUsernamePasswordRequest,
  encodeGreeting,
  encodeMethodSelection,
  encodeReply,
  encodeRequest,
  encodeUsernamePasswordReply,
  encodeUsernamePasswordRequest,
  type Greeting,
  type MethodSelection,
  type Reply,
  type Request,
  type UsernamePassword,
  type UsernamePasswordReply,
} from "./codec.ts";
export {
  ByteReader,
  type ByteReaderOptions,
  DEFAULT_MAX_BUFFERED,
} from "./reader.ts";
export {
  socks5ClientHandshake,
  type Socks5ClientOptions,
  type Socks5ClientResult,
  type Socks5Credentials,
  socks5Probe,
  type Socks5ProbeOptions,
  type Socks5ProbeResult,
} from "./client.ts";
