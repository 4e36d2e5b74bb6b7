/**
 * Secrets (`{ "env": NAME }`, `{ "file": PATH }` or the literal string) and
 * TLS key sources (a path, `{ "key_data": PEM }` or `{ "env": NAME }`, the
 * forms of KumoMTA's `KeySource`).
 *
 * Both are resolved while the schema runs: `v.safeParse` is synchronous,
 * so the loader first reads every `{ "file": PATH }` in the document and
 * every path given as a key source ({@linkcode readSecretFiles}), then runs
 * the parse inside
 * {@linkcode withSecretSource}, which makes the environment and those file
 * contents visible to the {@linkcode secret} schemas for exactly that
 * synchronous call. A schema part that needs a secret just uses
 * `secret(...)`; nothing has to be threaded through.
 *
 * A source made with `{ resolve: false }` (`--validate-config` without
 * `--resolve-secrets`) reads nothing: a reference is checked for form only
 * (a variable name, a non-empty path), and stands in the output as a
 * placeholder that {@linkcode isUnresolvedSecret} recognises, so checks
 * that need the value (a certificate against its key) can step aside
 * while every other check still runs.
 *
 * One file because it is one concept: the three forms of a secret (literal,
 * `{ env }`, `{ file }`), their form-only check for `--validate-config` and
 * their resolution, which must agree with each other.
 *
 * @module
 */

import * as v from "valibot";
import { dirname, isAbsolute, join } from "node:path";
import type { ConfigIo } from "../io.ts";
import { got, utf8Length } from "./messages.ts";
import { strictObject } from "./object.ts";
// pem.ts alone: the config loader does not need the certificate generator.
import { checkPrivateKey, parseCertificate } from "../../tls/pem.ts";

/** Where {@linkcode secret} schemas look up `env` and `file` references. */
export interface SecretSource {
  /** The value of an environment variable, or `undefined` when unset. */
  env(name: string): string | undefined;
  /**
   * The contents of a `{ "file": PATH }` reference (PATH as written in the
   * config), with one trailing newline removed, or why it could not be read.
   */
  file(path: string): { ok: true; text: string } | { ok: false; error: string };
  /**
   * `false`: references are not resolved but checked for form only, and
   * each becomes a placeholder (see {@linkcode isUnresolvedSecret}).
   * Default `true`.
   */
  readonly resolve?: boolean;
}

/** Options of {@linkcode readSecretFiles}. */
export interface SecretFileOptions {
  /**
   * `false`: read no file and no variable; check references for form only
   * (the source's {@linkcode SecretSource.resolve} is `false`). Default `true`.
   */
  resolve?: boolean;
}

let current: SecretSource | undefined;

/**
 * Run `parse` (a synchronous `v.safeParse` of a schema containing
 * {@linkcode secret}s) with `source` as the place secrets are resolved from.
 * Outside such a call, `env`/`file` secrets are reported as unresolvable.
 *
 * @returns what `parse` returns
 */
export function withSecretSource<T>(source: SecretSource, parse: () => T): T {
  const previous = current;
  current = source;
  try {
    return parse();
  } finally {
    current = previous;
  }
}

/** Start of every placeholder of an unresolved reference (a NUL cannot come from a resolved PEM or password check). */
const UNRESOLVED = "\u0000unresolved ";

/** The stand-in output of a reference that a form-only source does not resolve. */
function placeholder(reference: unknown): string {
  return UNRESOLVED + JSON.stringify(reference);
}

/**
 * Whether `text`, the output of a {@linkcode secret} or {@linkcode keySource}
 * in the parse now running, is the placeholder of a reference that was
 * checked for form only (a source with `resolve: false`). Always `false`
 * when secrets are resolved, and outside {@linkcode withSecretSource}.
 *
 * @example
 * ```ts
 * // In a cross-field check of a listener:
 * if (isUnresolvedSecret(cert) || isUnresolvedSecret(key)) return; // nothing to compare
 * ```
 */
export function isUnresolvedSecret(text: unknown): boolean {
  return current?.resolve === false && typeof text === "string" && text.startsWith(UNRESOLVED);
}

/** Upper bound on JSON nesting walked by {@linkcode readSecretFiles}. */
const MAX_DEPTH = 64;

/**
 * The config keys whose string value is a path to a PEM file
 * ({@linkcode keySource}): KumoMTA's TLS keys, the same on proxy and HTTP
 * listeners. A `keySource` under another key name would not be pre-read.
 */
export const KEY_SOURCE_KEYS: ReadonlySet<string> = new Set(["tls_certificate", "tls_private_key"]);

/**
 * Every PATH of a `{ "file": PATH }` object anywhere in `value`, and every
 * string value of a {@linkcode KEY_SOURCE_KEYS} key.
 */
function fileReferences(value: unknown, found: Set<string>, depth = 0): Set<string> {
  if (depth > MAX_DEPTH || value === null || typeof value !== "object") return found;
  if (Array.isArray(value)) {
    for (const item of value) fileReferences(item, found, depth + 1);
    return found;
  }
  const keys = Object.keys(value);
  const file = (value as Record<string, unknown>).file;
  if (keys.length === 1 && typeof file === "string") found.add(file);
  for (const key of keys) {
    const item = (value as Record<string, unknown>)[key];
    if (KEY_SOURCE_KEYS.has(key) && typeof item === "string" && item.length > 0) found.add(item);
    fileReferences((value as Record<string, unknown>)[key], found, depth + 1);
  }
  return found;
}

/** Remove one trailing `"\n"` (or `"\r\n"`) from file contents. */
function stripOneNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

/**
 * Read, through `io`, every file named by a `{ "file": PATH }` object or a
 * key-source path in the raw config `value`, and return a {@linkcode SecretSource} over those
 * contents and `io.env`. Relative PATHs are taken relative to the directory
 * of `configFile` (when given), so a config and its secret files can move
 * together. Never rejects: unreadable files become errors that a
 * {@linkcode secret} reports at its JSON path if (and only if) it uses them.
 *
 * @param value the parsed JSON document
 * @param io file and environment access
 * @param configFile path of the config file, or undefined to resolve
 *   relative PATHs against the working directory
 * @param options `{ resolve: false }` reads nothing (see {@linkcode SecretFileOptions})
 */
export async function readSecretFiles(
  value: unknown,
  io: ConfigIo,
  configFile?: string,
  options: SecretFileOptions = {},
): Promise<SecretSource> {
  if (options.resolve === false) {
    return {
      resolve: false,
      env: () => undefined,
      file: (path) => ({ ok: false, error: `${JSON.stringify(path)} was not read` }),
    };
  }
  const base = configFile === undefined ? undefined : dirname(configFile);
  const files = new Map<string, { ok: true; text: string } | { ok: false; error: string }>();
  await Promise.all([...fileReferences(value, new Set())].map(async (path) => {
    const resolved = base === undefined || isAbsolute(path) ? path : join(base, path);
    try {
      files.set(path, { ok: true, text: stripOneNewline(await io.readTextFile(resolved)) });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      files.set(path, { ok: false, error: `cannot read ${JSON.stringify(resolved)}: ${why}` });
    }
  }));
  return {
    env: (name) => io.env(name),
    file: (path) => files.get(path) ?? { ok: false, error: `${JSON.stringify(path)} was not read` },
  };
}

/** Environment variable names: letters, digits and `_`, not starting with a digit. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `{ "env": NAME }`: a value taken from an environment variable. */
const EnvReference = strictObject({
  env: v.pipe(
    v.string(),
    v.regex(
      ENV_NAME,
      (issue) => `expected an environment variable name such as "PROXY_PASSWORD", got ${got(issue.input)}`,
    ),
    v.description("Name of the environment variable that holds the value."),
  ),
}, '{ "env": NAME }');

/** The three ways to give a secret, before resolution. */
const SecretInput = v.union([
  v.pipe(
    v.string(),
    v.minLength(1, "expected a non-empty string, got an empty one"),
    v.description("The secret itself, written in the config file."),
  ),
  EnvReference,
  strictObject({
    file: v.pipe(
      v.string(),
      v.minLength(1, "expected a file path, got an empty string"),
      v.description(
        "Path of a file whose contents are the value (one trailing newline is removed). " +
          "A relative path is relative to the directory of the config file.",
      ),
    ),
  }, '{ "file": PATH }'),
], (issue) => `expected a string, { "env": NAME } or { "file": PATH }, got ${got(issue.input)}`);

/**
 * A secret key: a literal string, `{ "env": NAME }` or `{ "file": PATH }` on
 * input; the resolved string on output (resolved at load time, see the
 * module docs). A missing variable or unreadable file is a problem at the
 * secret's JSON path. Problem messages never include the secret itself.
 * Under a form-only source a reference is not resolved: its output is a
 * placeholder ({@linkcode isUnresolvedSecret}) and the size is not checked.
 *
 * @param description the key's documentation
 * @param maxBytes largest accepted size in UTF-8 bytes (e.g. 255, RFC 1929
 *   PLEN); the resolved secret must also be non-empty
 */
export function secret(description: string, maxBytes = Infinity) {
  return v.pipe(
    SecretInput,
    v.description(description),
    v.rawTransform(({ dataset, addIssue, NEVER }): string => {
      const input = dataset.value;
      if (typeof input === "string") return input;
      const source = current;
      if (source === undefined) {
        addIssue({
          message: `cannot resolve ${got(input)} outside loadConfig()/parseConfig()`,
        });
        return NEVER;
      }
      if (source.resolve === false) return placeholder(input);
      if ("env" in input) {
        const text = source.env(input.env);
        if (text !== undefined) return text;
        addIssue({ message: `environment variable ${JSON.stringify(input.env)} is not set` });
        return NEVER;
      }
      const read = source.file(input.file);
      if (read.ok) return read.text;
      addIssue({ message: read.error });
      return NEVER;
    }),
    v.check(
      (text: string) => isUnresolvedSecret(text) || (text.length > 0 && utf8Length(text) <= maxBytes),
      (issue) =>
        Number.isFinite(maxBytes)
          ? `expected a value of 1 to ${maxBytes} bytes, got ${utf8Length(String(issue.input))} bytes`
          : "expected a non-empty value, got an empty one",
    ),
  );
}

/** What a {@linkcode keySource} holds; decides how its PEM text is checked. */
export type KeySourceKind = "certificate" | "private key";

/**
 * A TLS key source, as KumoMTA's `tls_certificate` / `tls_private_key`: a
 * file path string, `{ "key_data": PEM }` or `{ "env": NAME }` on input; the
 * PEM text on output, resolved at load time like a {@linkcode secret} (a
 * relative path is relative to the config file's directory) and checked:
 * a `"certificate"` must parse as an X.509 certificate, a `"private key"` as
 * an unencrypted private key. An unreadable file, an unset variable or PEM
 * that does not parse is a problem at the key's JSON path. Under a
 * form-only source a path or `{ "env" }` is not read: its output is a
 * placeholder ({@linkcode isUnresolvedSecret}); `key_data` is still parsed.
 * Must be used under
 * a key listed in {@linkcode KEY_SOURCE_KEYS}.
 *
 * @param description the key's documentation
 * @param kind what the PEM must contain
 */
export function keySource(description: string, kind: KeySourceKind) {
  return v.pipe(
    v.union([
      v.pipe(
        v.string(),
        v.minLength(1, "expected a file path, got an empty string"),
        v.description("Path of a PEM file; a relative path is relative to the directory of the config file."),
      ),
      strictObject({
        key_data: v.pipe(
          v.string(),
          v.includes(
            "-----BEGIN ",
            'expected PEM text containing a "-----BEGIN ..." line, got something else',
          ),
          v.description("The PEM text itself."),
        ),
      }, '{ "key_data": PEM }'),
      EnvReference,
    ], (issue) => `expected a file path, { "key_data": PEM } or { "env": NAME }, got ${got(issue.input)}`),
    v.description(description),
    v.rawTransform(({ dataset, addIssue, NEVER }): string => {
      const input = dataset.value;
      let pem: string | undefined;
      if (typeof input === "object" && "key_data" in input) {
        pem = input.key_data;
      } else if (current === undefined) {
        addIssue({ message: `cannot resolve ${got(input)} outside loadConfig()/parseConfig()` });
        return NEVER;
      } else if (current.resolve === false) {
        return placeholder(input);
      } else if (typeof input === "string") {
        const read = current.file(input);
        if (!read.ok) {
          addIssue({ message: read.error });
          return NEVER;
        }
        pem = read.text;
      } else {
        pem = current.env(input.env);
        if (pem === undefined) {
          addIssue({ message: `environment variable ${JSON.stringify(input.env)} is not set` });
          return NEVER;
        }
      }
      try {
        if (kind === "certificate") parseCertificate(pem);
        else checkPrivateKey(pem);
      } catch (error) {
        addIssue({ message: error instanceof Error ? error.message : String(error) });
        return NEVER;
      }
      return pem;
    }),
  );
}
