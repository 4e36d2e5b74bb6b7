/**
 * SOCKS5 protocol constants, named as RFC 1928 and RFC 1929 name them.
 *
 * Each group is an `as const` object plus a union type of its values, so a
 * field typed `Rep` can only hold a code the RFC defines, while decoders that
 * must pass unknown codes through (e.g. an unknown CMD) use plain `number`.
 *
 * @module
 */

/** VER field of every RFC 1928 message: `0x05`. Source: RFC 1928 section 3. */
export const SOCKS_VERSION = 0x05;

/**
 * Authentication METHOD codes of the method negotiation.
 * Source: RFC 1928 section 3 ("X'00' NO AUTHENTICATION REQUIRED", ...).
 *
 * @example
 * ```ts
 * import { METHOD } from "./constants.ts";
 * const offered = [METHOD.NO_AUTHENTICATION_REQUIRED, METHOD.USERNAME_PASSWORD];
 * ```
 */
export const METHOD = {
  /** X'00' NO AUTHENTICATION REQUIRED. */
  NO_AUTHENTICATION_REQUIRED: 0x00,
  /** X'01' GSSAPI (RFC 1961); never selected by proxy-server. */
  GSSAPI: 0x01,
  /** X'02' USERNAME/PASSWORD, sub-negotiated as RFC 1929 says. */
  USERNAME_PASSWORD: 0x02,
  /** X'FF' NO ACCEPTABLE METHODS: the server then closes the connection. */
  NO_ACCEPTABLE_METHODS: 0xff,
} as const;
/** One of the {@linkcode METHOD} codes. */
export type Method = typeof METHOD[keyof typeof METHOD];

/** X'00' NO AUTHENTICATION REQUIRED (RFC 1928 section 3). */
export const NO_AUTHENTICATION_REQUIRED = METHOD.NO_AUTHENTICATION_REQUIRED;
/** X'01' GSSAPI (RFC 1928 section 3). */
export const GSSAPI = METHOD.GSSAPI;
/** X'02' USERNAME/PASSWORD (RFC 1928 section 3, RFC 1929). */
export const USERNAME_PASSWORD = METHOD.USERNAME_PASSWORD;
/** X'FF' NO ACCEPTABLE METHODS (RFC 1928 section 3). */
export const NO_ACCEPTABLE_METHODS = METHOD.NO_ACCEPTABLE_METHODS;

/**
 * CMD field of a request. Source: RFC 1928 section 4.
 * proxy-server uses CONNECT, and BIND the way KumoMTA does (BIND of the
 * source IP, port 0, before CONNECT); UDP ASSOCIATE is answered with
 * {@linkcode REP.COMMAND_NOT_SUPPORTED}.
 */
export const CMD = {
  /** X'01' CONNECT. */
  CONNECT: 0x01,
  /** X'02' BIND. */
  BIND: 0x02,
  /** X'03' UDP ASSOCIATE. */
  UDP_ASSOCIATE: 0x03,
} as const;
/** One of the {@linkcode CMD} codes. */
export type Cmd = typeof CMD[keyof typeof CMD];

/**
 * ATYP field: the type of DST.ADDR / BND.ADDR that follows.
 * Source: RFC 1928 sections 4 and 5.
 */
export const ATYP = {
  /** X'01' IP V4 address: 4 octets. */
  IPV4: 0x01,
  /** X'03' DOMAINNAME: one length octet, then that many octets, no NUL. */
  DOMAINNAME: 0x03,
  /** X'04' IP V6 address: 16 octets. */
  IPV6: 0x04,
} as const;
/** One of the {@linkcode ATYP} codes. */
export type Atyp = typeof ATYP[keyof typeof ATYP];

/**
 * REP field of a reply. Source: RFC 1928 section 6.
 * proxy-server maps connect errors (server/replies.ts) as KumoMTA's
 * proxy-server does (status_from_io_error in
 * crates/proxy-server/src/proxy_handler.rs): ENETUNREACH 0x03, EHOSTUNREACH
 * 0x04, ECONNREFUSED 0x05, ETIMEDOUT 0x06, else 0x01; a failed name lookup,
 * which KumoMTA never makes, also answers 0x04.
 */
export const REP = {
  /** X'00' succeeded. */
  SUCCEEDED: 0x00,
  /** X'01' general SOCKS server failure. */
  GENERAL_FAILURE: 0x01,
  /** X'02' connection not allowed by ruleset. */
  CONNECTION_NOT_ALLOWED: 0x02,
  /** X'03' Network unreachable. */
  NETWORK_UNREACHABLE: 0x03,
  /** X'04' Host unreachable. */
  HOST_UNREACHABLE: 0x04,
  /** X'05' Connection refused. */
  CONNECTION_REFUSED: 0x05,
  /** X'06' TTL expired (used for timeouts). */
  TTL_EXPIRED: 0x06,
  /** X'07' Command not supported. */
  COMMAND_NOT_SUPPORTED: 0x07,
  /** X'08' Address type not supported. */
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;
/** One of the {@linkcode REP} codes. */
export type Rep = typeof REP[keyof typeof REP];

/** The RFC 1928 section 6 wording of each REP code, for logs and errors. */
const REP_TEXT: Record<number, string> = {
  [REP.SUCCEEDED]: "succeeded",
  [REP.GENERAL_FAILURE]: "general SOCKS server failure",
  [REP.CONNECTION_NOT_ALLOWED]: "connection not allowed by ruleset",
  [REP.NETWORK_UNREACHABLE]: "network unreachable",
  [REP.HOST_UNREACHABLE]: "host unreachable",
  [REP.CONNECTION_REFUSED]: "connection refused",
  [REP.TTL_EXPIRED]: "TTL expired",
  [REP.COMMAND_NOT_SUPPORTED]: "command not supported",
  [REP.ADDRESS_TYPE_NOT_SUPPORTED]: "address type not supported",
};

/**
 * Human-readable text of a REP code, as RFC 1928 section 6 words it, e.g.
 * `repText(5)` is `"connection refused"`; codes 0x09-0xFF give
 * `"unassigned REP 0x09"`.
 */
export function repText(rep: number): string {
  return REP_TEXT[rep] ??
    `unassigned REP 0x${rep.toString(16).padStart(2, "0")}`;
}

/**
 * The short snake_case name of each REP code (RFC 1928 section 6), as the
 * access log's `reply` field and the `reply` label of
 * `proxy_requests_total` spell it.
 */
export const REP_NAME: Readonly<Record<number, string>> = {
  [REP.SUCCEEDED]: "succeeded",
  [REP.GENERAL_FAILURE]: "general_failure",
  [REP.CONNECTION_NOT_ALLOWED]: "not_allowed",
  [REP.NETWORK_UNREACHABLE]: "network_unreachable",
  [REP.HOST_UNREACHABLE]: "host_unreachable",
  [REP.CONNECTION_REFUSED]: "connection_refused",
  [REP.TTL_EXPIRED]: "ttl_expired",
  [REP.COMMAND_NOT_SUPPORTED]: "command_not_supported",
  [REP.ADDRESS_TYPE_NOT_SUPPORTED]: "address_type_not_supported",
};

/**
 * The {@linkcode REP_NAME} of a REP code, e.g. `repName(5)` is
 * `"connection_refused"`; codes 0x09-0xFF give `"unassigned"`.
 */
export function repName(rep: number): string {
  return REP_NAME[rep] ?? "unassigned";
}

/**
 * The lower-case name of a CMD code (RFC 1928 section 4): `"connect"`,
 * `"bind"`, `"udp_associate"`, else `"unknown"`; the access log's
 * `command` field and the `command` label of `proxy_requests_total`.
 */
export function commandName(cmd: number | undefined): string {
  switch (cmd) {
    case CMD.CONNECT:
      return "connect";
    case CMD.BIND:
      return "bind";
    case CMD.UDP_ASSOCIATE:
      return "udp_associate";
    default:
      return "unknown";
  }
}

/** VER field of the RFC 1929 username/password sub-negotiation: `0x01`. */
export const USERNAME_PASSWORD_VERSION = 0x01;

/**
 * STATUS field of the RFC 1929 reply. RFC 1929 section 2: X'00' is success;
 * any other value is failure, after which the server MUST close.
 */
export const AUTH_STATUS = {
  /** X'00' success. */
  SUCCESS: 0x00,
  /** X'01' failure (the value proxy-server sends; any non-zero fails). */
  FAILURE: 0x01,
} as const;
/** One of the {@linkcode AUTH_STATUS} codes. */
export type AuthStatus = typeof AUTH_STATUS[keyof typeof AUTH_STATUS];
