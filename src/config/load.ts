/**
 * Loading `proxy.json`: read the file, parse the JSON, resolve secrets and
 * validate against {@linkcode ConfigSchema}, collecting every problem.
 *
 * @module
 */

import * as v from "valibot";
import { ConfigError, issuesToProblems } from "./errors.ts";
import type { ConfigIo } from "./io.ts";
import { parseJson } from "./json.ts";
import { type Config, ConfigSchema } from "./schema/index.ts";
import { fallbackMessage } from "./schema/messages.ts";
import { readSecretFiles, withSecretSource } from "./schema/secret.ts";

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Path of the config file the value came from; relative
   * `{ "file": PATH }` secrets are read relative to its directory. Unset:
   * relative to the working directory. `loadConfig` sets it.
   */
  configPath?: string;
}

/**
 * Validate an already-parsed config value: fill in defaults, turn durations
 * into seconds, parse `listen` addresses, resolve `{ "env" }` and
 * `{ "file" }` secrets and TLS key sources (`tls_certificate`,
 * `tls_private_key`: path, `key_data` or `env`, to PEM text) through `io`,
 * and check cross-field rules (unique `listen` addresses and usernames,
 * exactly one of `password` / `password_hash`, a TLS certificate and key
 * that belong together).
 *
 * @param value the JSON document (e.g. built by the CLI's `--listen` mode)
 * @param file the name to report problems under (a path or e.g. `"--listen"`)
 * @param io environment and file access for secrets
 * @param options see {@linkcode ParseConfigOptions}
 * @returns the {@linkcode Config}
 * @throws {ConfigError} listing every problem found, each with its JSON path
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
  const secrets = await readSecretFiles(value, io, options.configPath);
  const result = withSecretSource(
    secrets,
    () => v.safeParse(ConfigSchema, value, { message: fallbackMessage }),
  );
  if (!result.success) throw new ConfigError(issuesToProblems(result.issues, file));
  return result.output;
}

/**
 * Read and validate a config file (`proxy-server --config proxy.json`).
 *
 * @param path the file to read through `io.readTextFile`
 * @param io file and environment access
 * @returns the {@linkcode Config}
 * @throws {ConfigError} when the file cannot be read (path `$`), is not JSON
 *   (path `$`, message with the line and column), or does not validate
 *   (every problem, each with its JSON path); see {@linkcode parseConfig}
 */
export async function loadConfig(path: string, io: ConfigIo): Promise<Config> {
  let text: string;
  try {
    text = await io.readTextFile(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ConfigError([{ file: path, path: "$", message: `cannot read the file: ${why}` }]);
  }
  const json = parseJson(text);
  if (!json.ok) {
    throw new ConfigError([{
      file: path,
      path: "$",
      message: `not valid JSON at line ${json.line}, column ${json.column}: ${json.message}`,
    }]);
  }
  return parseConfig(json.value, path, io, { configPath: path });
}
