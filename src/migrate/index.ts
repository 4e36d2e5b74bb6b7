/**
 * Migrating from KumoProxy: run a KumoProxy Lua policy (`init.lua`) in a Lua
 * VM with recording `kumo` / `proxy` modules and turn what its `proxy_init`
 * handler started into the equivalent `proxy.json` value. Used by
 * `--convert-proxy-config FILE.lua` (print the JSON) and `--proxy-config
 * FILE.lua` (convert in memory and run).
 *
 * @example
 * ```ts
 * import { convertPolicyFile, describeDropped } from "./src/migrate/index.ts";
 * const { config, dropped } = await convertPolicyFile("init.lua", io);
 * console.log(JSON.stringify(config, null, 2));
 * for (const item of dropped) console.error(describeDropped(item));
 * ```
 *
 * @module
 */

import { type Config, ConfigError, type ConfigIo, parseConfig } from "../config/index.ts";
import { type Conversion, describeDropped, type DroppedItem, toConfig } from "./convert.ts";
import { PolicyError } from "./errors.ts";
import { runPolicy } from "./lua.ts";

export { type Conversion, describeDropped, type DroppedItem, toConfig, type ToConfigOptions } from "./convert.ts";
export { PolicyError } from "./errors.ts";
export {
  type ListenerKind,
  POLICY_TIMEOUT_MS,
  type PolicyRecording,
  type RecordedHandler,
  type RecordedListener,
  runPolicy,
  type RunPolicyOptions,
} from "./lua.ts";

/** Options of {@linkcode convertPolicyFile} and {@linkcode loadPolicyConfig}. */
export interface ConvertOptions {
  /** Working directory that relative TLS paths are resolved against (as KumoProxy does). */
  cwd?: string;
  /** Receives the lines the policy `print`s. */
  print?(line: string): void;
}

/**
 * A policy that converted only in part, refused by `--proxy-config`:
 * `message` lists the dropped items, one per line, and says to convert
 * with `--convert-proxy-config` and fix the JSON.
 */
export class NotConvertedError extends PolicyError {
  /** What could not be converted. */
  readonly dropped: DroppedItem[];

  /**
   * @param file the policy file
   * @param dropped what could not be converted (at least one)
   */
  constructor(file: string, dropped: DroppedItem[]) {
    super(
      [
        ...dropped.map(describeDropped),
        `${file}: not started: ${dropped.length} thing(s) in the policy cannot be converted; ` +
        `run --convert-proxy-config ${file} > proxy.json, complete it as listed, then --config proxy.json`,
      ].join("\n"),
    );
    this.name = "NotConvertedError";
    this.dropped = dropped;
  }
}

/**
 * Read the policy `file` through `io`, run it ({@linkcode runPolicy}, with
 * `os.getenv` reading `io.env`) and convert what it did
 * ({@linkcode toConfig}). The result is not validated.
 *
 * @throws {PolicyError} when the file cannot be read, does not parse or run
 *   (`FILE:LINE: ...`), has no `proxy_init` handler, or starts no proxy listener
 */
export async function convertPolicyFile(file: string, io: ConfigIo, options: ConvertOptions = {}): Promise<Conversion> {
  let text: string;
  try {
    text = await io.readTextFile(file);
  } catch (error) {
    throw new PolicyError(`${file}: cannot read the file: ${error instanceof Error ? error.message : String(error)}`);
  }
  const recording = await runPolicy(text, file, { env: (name) => io.env(name), print: options.print });
  if (!recording.listeners.some((l) => l.kind === "proxy")) {
    throw new PolicyError(`${file}: proxy_init started no proxy listener (kumo.start_proxy_listener { listen = ... })`);
  }
  return toConfig(recording, { cwd: options.cwd });
}

/**
 * `--proxy-config FILE.lua`: convert the policy and load the result as
 * `--config` would, refusing a policy that did not convert entirely.
 *
 * @throws {PolicyError} as {@linkcode convertPolicyFile}
 * @throws {NotConvertedError} when something was dropped
 * @throws {ConfigError} when the converted config does not validate
 */
export async function loadPolicyConfig(file: string, io: ConfigIo, options: ConvertOptions = {}): Promise<Config> {
  const { config, dropped } = await convertPolicyFile(file, io, options);
  if (dropped.length > 0) throw new NotConvertedError(file, dropped);
  return await parseConfig(config, file, io);
}

/**
 * `--convert-proxy-config FILE.lua`: print the JSON config on `out`, the
 * dropped items on `err`, and resolve with the exit status: 0 when
 * everything converted and the result validates, 1 when something was
 * dropped (the config is still printed), 2 when the converted config does
 * not validate (its problems on `err`, the config still printed).
 *
 * @throws {PolicyError} as {@linkcode convertPolicyFile} (exit 2, nothing printed)
 */
export async function convertCommand(
  file: string,
  io: ConfigIo,
  options: ConvertOptions & { out(text: string): void; err(text: string): void },
): Promise<number> {
  const { config, dropped } = await convertPolicyFile(file, io, {
    cwd: options.cwd,
    print: options.print ?? options.err,
  });
  options.out(JSON.stringify(config, null, 2));
  for (const item of dropped) options.err(describeDropped(item));
  try {
    await parseConfig(config, file, io);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    options.err(error.message);
    options.err(`${file}: the converted config does not validate (problems above)`);
    return 2;
  }
  if (dropped.length > 0) {
    options.err(`${file}: converted with ${dropped.length} item(s) dropped (listed above)`);
    return 1;
  }
  return 0;
}
