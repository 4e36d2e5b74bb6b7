/**
 * Authentication of the admin API (`/api/admin/*`) of an HTTP listener
 * whose `auth` is set: `Authorization: Bearer TOKEN` with one of
 * `auth.bearer_tokens`, or `Authorization: Basic ...` with one of the
 * `auth.basic` accounts. Tokens are compared in constant time; passwords and
 * password hashes (argon2id, bcrypt) are checked by the same verifier as
 * SOCKS5 users (`UserStore` of `src/auth/`); a Basic credential that
 * verified is remembered for {@linkcode BASIC_CACHE_SECONDS} (as a SHA-256
 * digest), so a script calling the API does not pay for an argon2id or
 * bcrypt verification (about 200 ms each) on every request, as KumoMTA
 * caches its auth results for a minute. Failures are never cached. A request without valid
 * credentials gets 401 with {@linkcode WWW_AUTHENTICATE}; failures are logged
 * at WARN, once per client address per minute.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { createHash } from "node:crypto";
import { getLog, rateLimited } from "../log/index.ts";
import { constantTimeEqual, UserStore } from "../auth/index.ts";
import type { HttpAuthSettings, HttpEnv } from "./context.ts";

const log = getLog("http");

/** The realm named in the challenges. */
export const AUTH_REALM = "proxy-server";

/** The `WWW-Authenticate` header of a 401: both accepted schemes. */
export const WWW_AUTHENTICATE = `Bearer realm="${AUTH_REALM}", Basic realm="${AUTH_REALM}"`;

/** The body of a 401. */
export const UNAUTHORIZED_BODY = "unauthorized\n";

/** Seconds a verified Basic credential is accepted without verifying it again. */
export const BASIC_CACHE_SECONDS = 60;

/** Most verified Basic credentials remembered at once. */
const BASIC_CACHE_SIZE = 64;

/** Seconds between two "authentication failed" lines of one client address. */
const FAILURE_LOG_INTERVAL_SECONDS = 60;

/**
 * Whether `token` is one of `tokens`: every entry is compared (in constant
 * time, whatever the lengths), so the answer's timing says nothing about
 * which entry matched or how much of it.
 */
export function matchesToken(token: string, tokens: readonly string[]): boolean {
  let found = false;
  for (const t of tokens) found = constantTimeEqual(token, t) || found;
  return found;
}

/** The user and password of a Basic credential (`base64(user:password)`), or `undefined` when malformed. */
export function parseBasic(credential: string): { username: string; password: string } | undefined {
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(credential), (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  return colon < 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * The middleware that admits a request with valid credentials for `auth`
 * and answers every other one 401 (text {@linkcode UNAUTHORIZED_BODY},
 * header {@linkcode WWW_AUTHENTICATE}). Mount it on `/api/admin/*`.
 *
 * @param auth the listener's `auth` (at least one token or account)
 */
export function adminAuth(auth: HttpAuthSettings): MiddlewareHandler<HttpEnv> {
  const tokens = [...auth.bearer_tokens];
  const users = new UserStore(auth.basic);
  const failures = rateLimited(log, FAILURE_LOG_INTERVAL_SECONDS);
  // SHA-256 of the credential -> when it stops being accepted without a check (ms).
  const verified = new Map<string, number>();
  const verifyBasic = async (username: string, password: string): Promise<boolean> => {
    const key = createHash("sha256").update(`${username}\u0000${password}`, "utf8").digest("hex");
    const until = verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    verified.delete(key);
    if (!await users.verify(username, password)) return false;
    verified.set(key, Date.now() + BASIC_CACHE_SECONDS * 1000);
    if (verified.size > BASIC_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    return true;
  };
  const accepted = async (header: string | undefined): Promise<string | undefined> => {
    const match = /^(\S+)[ \t]+(\S+)\s*$/.exec(header ?? "");
    if (!match) return undefined;
    const scheme = match[1].toLowerCase();
    if (scheme === "bearer") return tokens.length > 0 && matchesToken(match[2], tokens) ? "bearer token" : undefined;
    if (scheme !== "basic" || users.size === 0) return undefined;
    const basic = parseBasic(match[2]);
    if (basic === undefined) return undefined;
    return await verifyBasic(basic.username, basic.password) ? `basic user ${basic.username}` : undefined;
  };
  return async (c, next) => {
    const header = c.req.header("authorization");
    const who = await accepted(header);
    if (who !== undefined) {
      log.debug("{method} {path}: authenticated as {who}", { method: c.req.method, path: c.req.path, who });
      await next();
      return;
    }
    const client = c.env.remoteAddr.host;
    failures.warn(client, "{method} {path} from {client}: {why}", {
      method: c.req.method,
      path: c.req.path,
      client,
      why: header === undefined ? "no credentials" : "wrong credentials",
    });
    return c.text(UNAUTHORIZED_BODY, 401, { "www-authenticate": WWW_AUTHENTICATE });
  };
}
