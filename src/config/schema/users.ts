/**
 * `users`: the accounts of RFC 1929 username/password authentication, each
 * with a password (a secret: literal, `{ "env": NAME }` or
 * `{ "file": PATH }`) or a password hash (argon2id or bcrypt).
 *
 * @module
 */

import * as v from "valibot";
import { cidrList, positiveCount } from "./access.ts";
import { got, utf8Length } from "./messages.ts";
import { itemKeyPath, strictObject } from "./object.ts";
import { egressPoolKey } from "./pools.ts";
import { secret } from "./secret.ts";

/**
 * The accepted password hash formats (also the JSON Schema `pattern`):
 * argon2id in PHC string form (`$argon2id$v=19$m=65536,t=3,p=4$SALT$HASH`,
 * as written by hash-wasm, libsodium, the `argon2` CLI) and bcrypt
 * (`$2a$`, `$2b$`, `$2y$`, cost 04-31, 53 characters of salt and hash).
 */
export const PASSWORD_HASH_PATTERN: RegExp =
  /^(?:\$argon2id\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}|\$2[aby]\$(?:0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53})$/;

/** Describe a bad hash without echoing it (it may be a pasted password). */
function badHash(input: unknown): string {
  const expected =
    'expected an argon2id hash ("$argon2id$v=19$m=...,t=...,p=...$SALT$HASH") or a bcrypt hash ("$2b$12$...")';
  if (typeof input !== "string") return `${expected}, got ${got(input)}`;
  const scheme = /^\$[A-Za-z0-9]+\$/.exec(input)?.[0];
  return scheme
    ? `${expected}, got a malformed ${JSON.stringify(scheme)} hash`
    : `${expected}, got a ${input.length}-character string that is not a hash`;
}

/** Text of a `username` problem about its size. */
function usernameSize(issue: v.BaseIssue<unknown>): string {
  return `expected a username of 1 to 255 bytes (RFC 1929 ULEN), got ${utf8Length(String(issue.input))} bytes`;
}

/**
 * The check that an account gives exactly one of `password` and
 * `password_hash` (SOCKS5 `users` and the HTTP listeners' Basic accounts),
 * for a pipe after the account's object schema; its JSON Schema form is
 * {@linkcode PASSWORD_OR_HASH_JSON_SCHEMA}.
 *
 * @typeParam T the account object's type at this point of the pipe (inferred)
 */
export function passwordOrHash<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const user = dataset.value as unknown;
    if (user === null || typeof user !== "object" || Array.isArray(user)) return;
    const hasPassword = "password" in user;
    if (hasPassword === "password_hash" in user) {
      addIssue({
        message: `expected exactly one of "password" or "password_hash", got ${hasPassword ? "both" : "neither"}`,
      });
    }
  });
}

/**
 * The JSON Schema form of {@linkcode passwordOrHash}, for `v.metadata`: a
 * `oneOf` (the `properties` entries keep ajv's strictRequired mode happy).
 */
export const PASSWORD_OR_HASH_JSON_SCHEMA = {
  oneOf: [
    { required: ["password"], properties: { password: true } },
    { required: ["password_hash"], properties: { password_hash: true } },
  ],
} as const;

/** One entry of `users`. */
export const UserSchema = v.pipe(
  strictObject({
    username: v.pipe(
      v.string(),
      v.minLength(1, usernameSize),
      v.maxLength(255, usernameSize),
      v.check(
        // Lengths outside 1-255 characters were reported just above.
        (name) => name.length === 0 || name.length > 255 || utf8Length(name) <= 255,
        usernameSize,
      ),
      v.description(
        "The RFC 1929 username (UNAME), 1 to 255 bytes of UTF-8. Usernames must be unique.",
      ),
    ),
    password: v.optional(secret(
      "The RFC 1929 password (PASSWD), 1 to 255 bytes: the password itself, " +
        '{ "env": NAME } to read it from an environment variable, or ' +
        '{ "file": PATH } to read it from a file (one trailing newline removed). ' +
        "Resolved when the config is loaded. Give this or password_hash, not both.",
      255,
    )),
    password_hash: v.optional(v.pipe(
      v.string(),
      v.regex(PASSWORD_HASH_PATTERN, (issue) => badHash(issue.input)),
      v.description(
        "Hash of the password instead of the password: argon2id in PHC form " +
          '("$argon2id$v=19$m=65536,t=3,p=4$...") or bcrypt ("$2b$12$..."). ' +
          "Give this or password, not both.",
      ),
    )),
    egress_pool: egressPoolKey(
      "Name of a pool in pools for this user's CONNECTs without a preceding BIND; wins over the " +
        "listener's egress_pool.",
    ),
    source_addresses: cidrList(
      "The source addresses this user may ask for with KumoMTA's BIND <source-ip>:0: IP addresses and " +
        "CIDR blocks; a BIND of any other address answers REP 0x02. Default: any address.",
      "leave source_addresses out to allow any source address",
    ),
    max_connections: positiveCount(
      "connections",
      "Most sessions of this user open at once; past it the user's next request is refused (REP 0x02). " +
        "Default: no limit.",
    ),
  }, 'a user ({ "username", "password" } or { "username", "password_hash" })'),
  passwordOrHash(),
  // The JSON Schema form of passwordOrHash.
  v.metadata(PASSWORD_OR_HASH_JSON_SCHEMA),
  v.description(
    "An account for RFC 1929 username/password authentication " +
      "(KumoProxy: the users checked by its auth hook).",
  ),
);

/**
 * A check for a list of accounts: each `username` at most once. Reports at
 * `[index].username`, naming the earlier index. Shared by `users` and the
 * HTTP listeners' Basic accounts.
 *
 * @param what the item kind in the message ("user", "account")
 * @typeParam T the list's type at this point of the pipe (inferred)
 */
export function uniqueUsernames<T>(what: string) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const users = dataset.value as unknown;
    if (!Array.isArray(users)) return;
    const first = new Map<string, number>();
    users.forEach((user: unknown, index) => {
      const name = (user as { username?: unknown } | null)?.username;
      if (typeof name !== "string") return;
      const earlier = first.get(name);
      if (earlier === undefined) {
        first.set(name, index);
        return;
      }
      addIssue({
        message: `duplicate username ${JSON.stringify(name)}: already used by the ${what} at index ${earlier}`,
        path: itemKeyPath(users, index, "username"),
      });
    });
  });
}

/** `users`: the RFC 1929 accounts; usernames are unique. */
export const UsersSchema = v.pipe(
  v.array(UserSchema),
  uniqueUsernames("user"),
  v.description(
    "Accounts for RFC 1929 username/password authentication. When a client offers " +
      "username/password (METHOD 0x02) it is checked against this list, whether or not " +
      "the listener has require_auth. Default: no users.",
  ),
);
