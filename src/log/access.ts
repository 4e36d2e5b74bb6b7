/**
 * The access log: one line per proxy session when it ends, on its own logger
 * category, `proxy_server::access` ({@linkcode ACCESS_CATEGORY}), so a
 * filter turns it on or off by itself (`proxy_server::access=off`), and at
 * INFO, so the default filter `proxy_server=info` keeps it.
 *
 * This module knows the line's fields ({@linkcode AccessFields}) and their
 * two renderings, not where they come from: the server turns a session's
 * outcome into fields. A caller checks {@linkcode accessLogEnabled} once per
 * session and builds the fields only when it is true, so a disabled access
 * log costs one level check.
 *
 * Renderings (the field order is {@linkcode ACCESS_FIELD_NAMES}; absent
 * fields are left out):
 * - human: `TIME [INFO] proxy_server::access: listener=... client=... end=completed`,
 *   `key=value` pairs, a value quoted as a JSON string when it holds a
 *   space, a quote, `=`, a control character or nothing;
 * - JSON: one flat object per line, `{"time": ..., "level": "INFO",
 *   "logger": "proxy_server::access", "listener": ..., ...}`.
 *
 * @module
 */
import { getLogger, type Logger, type LogRecord } from "@logtape/logtape";

/** The access log's logger category: `proxy_server::access`. */
export const ACCESS_CATEGORY: readonly string[] = ["proxy_server", "access"];

/**
 * The fields of one access-log line, already formatted (addresses as
 * `ip:port`, names as the RFCs spell them); an undefined field is left out
 * of the line. Never a password.
 */
export interface AccessFields {
  /** The proxy listener's `listen` text. */
  listener: string;
  /** The client's `ip:port`. */
  client: string;
  /** The RFC 1929 username (the one tried, for `end=auth_failed`); absent without RFC 1929. */
  user?: string;
  /** The last request's command: `connect`, `bind`, `udp_associate`, `unknown`. */
  command?: string;
  /** The source address KumoMTA pinned with `BIND <ip>:0`. */
  bind_address?: string;
  /** The egress source that carried the CONNECT. */
  egress_source?: string;
  /** The egress pool that carried the CONNECT. */
  egress_pool?: string;
  /** DST.ADDR:DST.PORT as the client asked (a host name stays a name). */
  destination?: string;
  /** The `ip:port` actually connected to. */
  connected?: string;
  /** The outbound socket's own `ip:port`. */
  local_address?: string;
  /** The RFC 1928 reply sent, by name (`succeeded`, `connection_refused`, ...). */
  reply?: string;
  /** Bytes from the client to the destination. */
  bytes_up: number;
  /** Bytes from the destination to the client. */
  bytes_down: number;
  /** Greeting to CONNECT reply, milliseconds (only for a tunnel). */
  handshake_ms?: number;
  /** Accept to close, seconds. */
  duration_s: number;
  /** How the session ended: `completed`, `auth_failed`, `denied`, `timeout`, `idle`, `client_reset`, `dest_reset`, `error`, `shutdown`. */
  end: string;
  /** A short explanation of `end` (an error message, a denial reason). */
  detail?: string;
}

/** The fields of {@linkcode AccessFields} in line order. */
export const ACCESS_FIELD_NAMES: readonly (keyof AccessFields)[] = [
  "listener",
  "client",
  "user",
  "command",
  "bind_address",
  "egress_source",
  "egress_pool",
  "destination",
  "connected",
  "local_address",
  "reply",
  "bytes_up",
  "bytes_down",
  "handshake_ms",
  "duration_s",
  "end",
  "detail",
];

const ACCESS_LOGGER_NAME = ACCESS_CATEGORY.join("::");
let logger: Logger | undefined;

/** The access log's LogTape logger. */
function accessLogger(): Logger {
  return logger ??= getLogger([...ACCESS_CATEGORY]);
}

/**
 * Whether an access line logged now would be written (the filter lets
 * `proxy_server::access` through at INFO). Check once per session; build
 * the fields only when true.
 */
export function accessLogEnabled(): boolean {
  return accessLogger().isEnabledFor("info");
}

/** Log one access line (at INFO, category `proxy_server::access`). */
export function logAccess(fields: AccessFields): void {
  accessLogger().info("session ended", fields as unknown as Record<string, unknown>);
}

/** Whether `record` is an access-log line (the sink routes and formats these itself). */
export function isAccessRecord(record: LogRecord): boolean {
  const c = record.category;
  return c.length === 2 && c[1] === ACCESS_CATEGORY[1] && c[0] === ACCESS_CATEGORY[0];
}

/** A value that needs no quotes in the human form: printable ASCII without space, `"` or `=`. */
const BARE = /^[!#-<>-~]+$/;

/** `key=value` text of the fields, in {@linkcode ACCESS_FIELD_NAMES} order. */
export function accessText(fields: AccessFields): string {
  let out = "";
  for (const name of ACCESS_FIELD_NAMES) {
    const value = fields[name];
    if (value === undefined) continue;
    const text = typeof value === "number" ? String(value) : BARE.test(value) ? value : JSON.stringify(value);
    out += out === "" ? `${name}=${text}` : ` ${name}=${text}`;
  }
  return out;
}

/** The human line of an access record: `TIME [INFO] proxy_server::access: key=value ...\n`. */
export function formatAccessHuman(record: LogRecord): string {
  const fields = record.properties as unknown as AccessFields;
  return `${new Date(record.timestamp).toISOString()} [INFO] ${ACCESS_LOGGER_NAME}: ${accessText(fields)}\n`;
}

/** The JSON line of an access record: one flat object, `time` first, then the fields. */
export function formatAccessJson(record: LogRecord): string {
  const fields = record.properties as unknown as AccessFields;
  const line: Record<string, unknown> = {
    time: new Date(record.timestamp).toISOString(),
    level: "INFO",
    logger: ACCESS_LOGGER_NAME,
  };
  for (const name of ACCESS_FIELD_NAMES) {
    const value = fields[name];
    if (value !== undefined) line[name] = value;
  }
  return `${JSON.stringify(line)}\n`;
}
