/**
 * The `proxy.json` configuration: schema, types, loading and the JSON Schema.
 *
 * @example
 * ```ts
 * import { loadConfig, ConfigError } from "./src/config/index.ts";
 * try {
 *   const config = await loadConfig("proxy.json", io);
 *   config.proxy_listeners[0].timeout; // seconds
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.message); // FILE:LINE:COLUMN: $.path: message
 * }
 * ```
 *
 * @module
 */

export {
  type ClusterConfig,
  type Config,
  ConfigSchema,
  type HttpListenerConfig,
  type ProxyListenerConfig,
} from "./schema/index.ts";
export { ConfigError, type ConfigProblem, formatProblem } from "./errors.ts";
export type { ConfigIo } from "./io.ts";
export { loadConfig, type LoadConfigOptions, loadConfigText, parseConfig, type ParseConfigOptions } from "./load.ts";
export { CONFIG_SCHEMA_ID, configJsonSchema, EDITOR_KEYWORDS } from "./json-schema.ts";
export { type ListenAddress, parseListenAddress } from "./schema/address.ts";
export { MAX_DURATION_SECONDS, parseDurationSeconds } from "./schema/duration.ts";
export { LOG_LEVELS, type LogLevel } from "./schema/log.ts";
