/**
 * `http_listeners`: the HTTP listeners (metrics, health, status, admin, API
 * docs), each configured like KumoMTA's `proxy.start_http_listener { ... }`
 * (whose keys are those of `kumo.start_http_listener`).
 *
 * @module
 */

import * as v from "valibot";
import ipaddr from "ipaddr.js";
import { listenAddress } from "./address.ts";
import { uniqueListen } from "./listener.ts";
import { tlsEntries, tlsKeyPairCheck } from "./tls.ts";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";
import { secret } from "./secret.ts";
import { PASSWORD_HASH_PATTERN, PASSWORD_OR_HASH_JSON_SCHEMA, passwordOrHash, uniqueUsernames } from "./users.ts";

/** Default `trusted_hosts`: the loopback addresses, as in KumoMTA's example. */
export const DEFAULT_TRUSTED_HOSTS = ["127.0.0.1", "::1"];

/** Default `request_body_limit`: 2 MiB, in bytes (KumoMTA's default). */
export const DEFAULT_REQUEST_BODY_LIMIT = 2 * 1024 * 1024;

/**
 * Approximate grammar of one `trusted_hosts` entry for the JSON Schema
 * `pattern`; {@linkcode parseTrustedHost} is the exact rule.
 */
export const TRUSTED_HOST_PATTERN =
  "^(?:\\d{1,3}(?:\\.\\d{1,3}){3}(?:/\\d{1,2})?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:/\\d{1,3})?)$";

/**
 * Parse one `trusted_hosts` entry: an IPv4 or IPv6 literal (`"10.1.2.3"`,
 * `"::1"`) or a CIDR block (`"10.0.0.0/8"`, `"fd00::/8"`). IPv6 zone
 * indices (`%eth0`) are refused.
 *
 * @returns the entry in canonical spelling (IPv6 as RFC 5952 text, e.g.
 *   `"0:0::1"` gives `"::1"`), or why the text is not one
 * @example
 * ```ts
 * parseTrustedHost("fd00:0::/8"); // { ok: true, value: "fd00::/8" }
 * parseTrustedHost("localhost"); // { ok: false, reason: "..." }
 * ```
 */
export function parseTrustedHost(text: string): { ok: true; value: string } | { ok: false; reason: string } {
  const slash = text.indexOf("/");
  const ip = slash < 0 ? text : text.slice(0, slash);
  const prefix = slash < 0 ? undefined : text.slice(slash + 1);
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(ip)) addr = ipaddr.IPv4.parse(ip);
  else if (ip.includes(":") && !ip.includes("%") && ipaddr.IPv6.isValid(ip)) addr = ipaddr.IPv6.parse(ip);
  else return { ok: false, reason: `${JSON.stringify(ip)} is not an IP address literal` };
  if (prefix === undefined) return { ok: true, value: addr.toString() };
  const max = addr.kind() === "ipv4" ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    return { ok: false, reason: `prefix length ${JSON.stringify(prefix)} is not 0 to ${max}` };
  }
  return { ok: true, value: `${addr.toString()}/${Number(prefix)}` };
}

/** Problem text for a bad `trusted_hosts` entry. */
function expectedHost(input: unknown, reason?: string): string {
  return `expected an IP address or CIDR block such as "127.0.0.1", "::1" or "10.0.0.0/8", got ${got(input)}` +
    (reason ? ` (${reason})` : "");
}

/** One `trusted_hosts` entry: input text, canonical text out. */
const TrustedHost = v.pipe(
  v.string((issue) => expectedHost(issue.input)),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const result = parseTrustedHost(dataset.value);
    if (!result.ok) addIssue({ message: expectedHost(dataset.value, result.reason) });
  }),
  v.metadata({ pattern: TRUSTED_HOST_PATTERN }),
  v.transform((text: string): string => {
    const result = parseTrustedHost(text);
    return result.ok ? result.value : text;
  }),
);

/** `true`/`false` key with its documentation. */
function flag(description: string) {
  return v.pipe(v.boolean(), v.description(description));
}

/** One `auth.basic` account of an HTTP listener: a username with a password or a password hash. */
export const HttpBasicUserSchema = v.pipe(
  strictObject({
    username: v.pipe(
      v.string(),
      v.minLength(1, "expected a non-empty username, got an empty string"),
      v.check(
        (name) => !name.includes(":"),
        'expected a username without ":" (HTTP Basic separates it from the password)',
      ),
      v.description('The HTTP Basic username (no ":"). Usernames must be unique within the listener.'),
    ),
    password: v.optional(secret(
      "The password: the password itself, " +
        '{ "env": NAME } to read it from an environment variable, or ' +
        '{ "file": PATH } to read it from a file (one trailing newline removed). ' +
        "Resolved when the config is loaded. Give this or password_hash, not both.",
    )),
    password_hash: v.optional(v.pipe(
      v.string(),
      v.regex(
        PASSWORD_HASH_PATTERN,
        'expected an argon2id hash ("$argon2id$v=19$m=...,t=...,p=...$SALT$HASH") or a bcrypt hash ("$2b$12$...")',
      ),
      v.description(
        "Hash of the password instead of the password, as for users: argon2id in PHC form " +
          '("$argon2id$v=19$m=65536,t=3,p=4$...") or bcrypt ("$2b$12$..."). ' +
          "Give this or password, not both.",
      ),
    )),
  }, 'an HTTP Basic account ({ "username", "password" } or { "username", "password_hash" })'),
  passwordOrHash(),
  v.metadata(PASSWORD_OR_HASH_JSON_SCHEMA),
  v.description("An account that may use the admin API with HTTP Basic authentication."),
);

/** `auth` of an HTTP listener: who may use `/api/admin/*`. */
export const HttpAuthSchema = v.pipe(
  strictObject({
    bearer_tokens: v.optional(
      v.pipe(
        v.array(secret(
          "A token accepted in Authorization: Bearer TOKEN: the token itself, " +
            '{ "env": NAME } or { "file": PATH } (one trailing newline removed), resolved when the config is loaded.',
        )),
        v.description("Tokens accepted as Authorization: Bearer TOKEN, each a secret. Default: none."),
      ),
      [],
    ),
    basic: v.optional(
      v.pipe(
        v.array(HttpBasicUserSchema),
        uniqueUsernames("account"),
        v.description("Accounts accepted as Authorization: Basic (username and password). Default: none."),
      ),
      [],
    ),
  }, 'an auth object ({ "bearer_tokens": [...], "basic": [...] })'),
  v.check(
    (auth) => auth.bearer_tokens.length + auth.basic.length > 0,
    'expected at least one entry in "bearer_tokens" or "basic" (leave auth out to need none)',
  ),
  v.metadata({
    anyOf: [
      { required: ["bearer_tokens"], properties: { bearer_tokens: { type: "array", minItems: 1 } } },
      { required: ["basic"], properties: { basic: { type: "array", minItems: 1 } } },
    ],
  }),
  v.description(
    "Authentication for the admin API: when set, every /api/admin/* route needs an Authorization " +
      "header with one of bearer_tokens (Bearer) or one of the basic accounts (Basic), checked in " +
      'constant time; otherwise 401 with WWW-Authenticate: Bearer realm="proxy-server", Basic ' +
      'realm="proxy-server". This is on top of trusted_hosts (a client outside them still gets 403). ' +
      "Metrics, health, status and docs need no credentials. Default: none (the admin API is open to trusted_hosts).",
  ),
);

/** One entry of `http_listeners`. */
export const HttpListenerSchema = v.pipe(
  strictObject({
    listen: listenAddress(
      'Address to serve HTTP on, "IP:PORT" with an IP literal ("127.0.0.1:8080", "[::1]:8080"); ' +
        "port 0 picks any free port. KumoMTA: listen.",
    ),
    trusted_hosts: v.optional(
      v.pipe(
        v.array(TrustedHost),
        v.minLength(
          1,
          'expected at least one address or CIDR block (["0.0.0.0/0", "::/0"] trusts every client), got an empty array',
        ),
        v.description(
          "Clients allowed to use this listener: IP addresses and CIDR blocks, IPv4 or IPv6 " +
            '("10.0.0.0/8", "fd00::/8"); IPv4 entries also match IPv4-mapped IPv6 clients. ' +
            "Any other client gets 403 Forbidden on every route. At least one entry; " +
            '["0.0.0.0/0", "::/0"] trusts every client. ' +
            'Default: ["127.0.0.1", "::1"]. KumoMTA: trusted_hosts.',
        ),
        v.examples([["127.0.0.1", "::1"], ["10.0.0.0/8", "192.168.1.5", "fd00::/8"]]),
      ),
      DEFAULT_TRUSTED_HOSTS,
    ),
    request_body_limit: v.optional(
      v.pipe(
        v.number(),
        v.integer((issue) => `expected a whole number of bytes, got ${got(issue.input)}`),
        v.minValue(1, (issue) => `expected at least 1 byte, got ${got(issue.input)}`),
        v.description(
          "Largest request body accepted, in BYTES; a larger one gets 413 Content Too Large. " +
            "Default: 2097152 (2 MiB). KumoMTA: request_body_limit.",
        ),
      ),
      DEFAULT_REQUEST_BODY_LIMIT,
    ),
    auth: v.optional(HttpAuthSchema),
    ...tlsEntries("HTTP listener (HTTPS)"),
    expose_system_info: v.optional(
      flag(
        "Add the host's name, kernel release and CPU architecture to GET /api/status/v1. " +
          "Off by default, so a status probe reveals nothing about the host.",
      ),
      false,
    ),
  }, "an HTTP listener"),
  tlsKeyPairCheck(),
);

/** `http_listeners`: zero or more HTTP listeners, with distinct `listen` addresses. */
export const HttpListenersSchema = v.pipe(
  v.array(HttpListenerSchema),
  uniqueListen<v.InferOutput<typeof HttpListenerSchema>[]>("HTTP listener"),
  v.description(
    "HTTP listeners serving /metrics, /metrics.json, /proxy/status, /api/check-liveness/v1, " +
      "/api/status/v1, /api/admin/set_diagnostic_log_filter/v1, /api-docs/openapi.json and " +
      "/rapidoc; each listen address at most once. Default: none. " +
      "KumoMTA: one proxy.start_http_listener call each.",
  ),
);
