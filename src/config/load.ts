/**
 * Loading `proxy.json`: read the file, parse the JSON, resolve secrets and
 * validate against {@linkcode ConfigSchema}, collecting every problem.
 *
 * @module
 */

import * as v from "valibot";
import { mergeEgress } from "./egress-refs.ts";
import { ConfigError, type ConfigProblem, issuesToProblems, type Locate, withPositions } from "./errors.ts";
import type { ConfigIo } from "./io.ts";
import { kumoNotices, resolveListenHosts } from "./kumo-compat.ts";
import { documentProblems, parseJson } from "./json.ts";
import { type Config, ConfigSchema } from "./schema/index.ts";
import { fallbackMessage } from "./schema/messages.ts";
import { readSecretFiles, withSecretSource } from "./schema/secret.ts";
import { readSourcesFiles } from "./sources-file.ts";

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Path of the config file the value came from; relative
   * `{ "file": PATH }` secrets are read relative to its directory. Unset:
   * relative to the working directory. `loadConfig` sets it.
   */
  configPath?: string;
  /**
   * Where the value at a JSON path is in the text `value` was parsed from
   * (`JsonDocument.locate`): problems reported under `file` then carry its
   * line and column. `loadConfig` sets it.
   */
  locate?: Locate;
  /**
   * `false`: check `{ "env" }` / `{ "file" }` secrets and TLS key sources
   * (paths and `{ "env" }`) for form only (a variable name, a non-empty
   * path) without reading any of them, and skip the checks that need their
   * values (size, PEM, certificate against key); everything else, the
   * `sources_file`s (config, not secrets) and every cross-reference
   * included, is checked as usual. The result then holds placeholders in
   * place of those secrets: use it to report problems, never to run.
   * Default `true` (`--validate-config --resolve-secrets`, `--config`).
   */
  resolveSecrets?: boolean;
}

/** Options of {@linkcode loadConfig} and {@linkcode loadConfigText}. */
export type LoadConfigOptions = Pick<ParseConfigOptions, "resolveSecrets">;

/**
 * Validate an already-parsed config value: fill in defaults, turn durations
 * into seconds, parse `listen` addresses, resolve `{ "env" }` and
 * `{ "file" }` secrets and TLS key sources (`tls_certificate`,
 * `tls_private_key`: path, `key_data` or `env`, to PEM text) through `io`,
 * check cross-field rules (unique `listen` addresses and usernames, exactly
 * one of `password` / `password_hash`, a TLS certificate and key that belong
 * together, contradictory source keys), read the KumoMTA sources-helper
 * files of `sources_file` (relative to `configPath`) into `sources` and
 * `pools`, and check that pool entries and `egress_pool`s name things that
 * exist, and resolve a proxy listener's `"HOST:PORT"` into one listener per
 * address (`io.lookup`, else the system resolver). Notices (ignored MTA-only
 * keys, `use_splice`) go to `io.notice`.
 *
 * @param value the JSON document (e.g. built by the CLI's `--listen` mode)
 * @param file the name to report problems under (a path or e.g. `"--listen"`)
 * @param io environment and file access for secrets
 * @param options see {@linkcode ParseConfigOptions}
 * @returns the {@linkcode Config}
 * @throws {ConfigError} listing every problem found, each with its JSON path
 *   (and its line and column, for problems of files with a locator)
 * @example
 * ```ts
 * const config = await parseConfig({ proxy_listeners: [{ listen: "127.0.0.1:1080" }] },
 *   "--listen", io);
 * config.proxy_listeners[0].timeout; // 60 (seconds)
 * ```
 */
export async function parseConfig(
  value: unknown,
  file: string,
  io: ConfigIo,
  options: ParseConfigOptions = {},
): Promise<Config> {
  const resolve = options.resolveSecrets !== false;
  const secrets = await readSecretFiles(value, io, options.configPath, { resolve });
  const result = withSecretSource(
    secrets,
    () => v.safeParse(ConfigSchema, value, { message: fallbackMessage }),
  );
  const raw = (value as { sources_file?: unknown } | null)?.sources_file;
  const helperPaths = typeof raw === "string"
    ? [raw]
    : Array.isArray(raw) && raw.every((p) => typeof p === "string" && p !== "")
    ? raw as string[]
    : [];
  const helpers = await readSourcesFiles(helperPaths, io, options.configPath, { resolveSecrets: resolve });
  const locators = new Map(helpers.locators);
  if (options.locate !== undefined) locators.set(file, options.locate);
  const fail = (problems: ConfigProblem[]) => new ConfigError(withPositions(problems, locators));
  if (!result.success) throw fail([...issuesToProblems(result.issues, file), ...helpers.problems]);
  // Unresolved names are only worth reporting once the files themselves are sound.
  const problems = helpers.problems.length > 0 ? helpers.problems : mergeEgress(result.output, file, helpers);
  if (problems.length > 0) throw fail(problems);
  const unresolved = await resolveListenHosts(result.output, file, io);
  if (unresolved.length > 0) throw fail(unresolved);
  for (const notice of kumoNotices(value, file)) io.notice?.(notice);
  return result.output;
}

/**
 * Read and validate a config file (`proxy-server --config proxy.json`).
 *
 * @param path the file to read through `io.readTextFile`
 * @param io file and environment access
 * @param options `{ resolveSecrets: false }` checks secrets for form only
 *   (see {@linkcode ParseConfigOptions.resolveSecrets})
 * @returns the {@linkcode Config}
 * @throws {ConfigError} when the file cannot be read (path `$`), or as
 *   {@linkcode loadConfigText}
 */
export async function loadConfig(path: string, io: ConfigIo, options: LoadConfigOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await io.readTextFile(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ConfigError([{ file: path, path: "$", message: `cannot read the file: ${why}` }]);
  }
  return loadConfigText(text, path, io, { ...options, configPath: path });
}

/**
 * Validate the text of a config (a file already read, or standard input).
 *
 * @param text the JSON text
 * @param file the name problems are reported under (the path, or e.g. `"<stdin>"`)
 * @param io file and environment access (secrets, `sources_file`s)
 * @param options `configPath`: what relative paths in the config are
 *   relative to (unset: the working directory); `resolveSecrets` as in
 *   {@linkcode ParseConfigOptions}
 * @returns the {@linkcode Config}
 * @throws {ConfigError} when the text is not JSON (path `$`, message with
 *   the line and column; comments and trailing commas included), repeats a
 *   key within an object (each repeat, at its path), or does not validate
 *   (every problem, each with its JSON path and the line and column of the
 *   value there); see {@linkcode parseConfig}
 * @example
 * ```ts
 * await loadConfigText('{ "proxy_listeners": [{ "listen": "127.0.0.1:1080" }] }', "<stdin>", io,
 *   { resolveSecrets: false });
 * ```
 */
export function loadConfigText(
  text: string,
  file: string,
  io: ConfigIo,
  options: Pick<ParseConfigOptions, "configPath" | "resolveSecrets"> = {},
): Promise<Config> {
  const json = parseJson(text);
  // A repeated key is refused: JSON.parse keeps the last, which may not be the one meant.
  const problems = documentProblems(file, json);
  if (problems.length > 0 || !json.ok) return Promise.reject(new ConfigError(problems));
  return parseConfig(json.value, file, io, { ...options, locate: json.locate });
}
