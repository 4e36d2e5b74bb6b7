/**
 * Command-line arguments, parsed with `node:util` `parseArgs` (available on
 * Deno and Bun). Mirrors KumoProxy's flags (`--listen`, `--timeout-seconds`,
 * `--no-splice`) next to the JSON config ones.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Raised for a command line that cannot be acted on; the CLI prints it and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What the command line asks for. */
export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "dump-config-schema" }
  | { kind: "dump-openapi-spec" }
  | { kind: "dump-metric-metadata" }
  | { kind: "validate-config"; file: string }
  | { kind: "run-config"; file: string }
  | { kind: "convert-proxy-config"; file: string }
  | { kind: "run-proxy-config"; file: string }
  | { kind: "run-legacy"; listen: string[]; timeoutSeconds?: number; noSplice: boolean }
  | {
    kind: "healthcheck";
    /** `--config FILE`, `--listen ADDR` (the first one), or the default `proxy.json`. */
    target: { config: string } | { listen: string };
    /** `--timeout-seconds`, default {@linkcode HEALTHCHECK_TIMEOUT_SECONDS}. */
    timeoutSeconds: number;
  };

/** Default bound of `--healthcheck`, seconds. */
export const HEALTHCHECK_TIMEOUT_SECONDS = 5;

/** The config `--healthcheck` reads when given neither `--config` nor `--listen`. */
export const HEALTHCHECK_DEFAULT_CONFIG = "proxy.json";

/** Usage text for `--help`. */
export const USAGE = `Usage:
  proxy-server --config FILE             run with a JSON config (see config.schema.json)
  proxy-server --listen ADDR [--listen ADDR ...] [--timeout-seconds N] [--no-splice]
                                         KumoProxy's legacy mode: no-auth listeners on ADDR
  proxy-server --proxy-config FILE       KumoProxy's flag: FILE.json is the same as --config; any other
                                         FILE is a KumoProxy Lua policy, converted in memory and run
                                         (exit 2, listing them, if parts of it cannot be converted)
  proxy-server --convert-proxy-config FILE
                                         print the JSON config equivalent to the KumoProxy Lua policy
                                         FILE; exit 0 if all of it converted, 1 if parts were dropped
                                         (listed on stderr), 2 on a Lua error
  proxy-server --validate-config FILE    check a config file; exit 0 if valid, 2 if not
  proxy-server --healthcheck [--config FILE | --listen ADDR] [--timeout-seconds N]
                                         SOCKS5 greeting to the first proxy listener (TLS if
                                         it uses TLS); exit 0 healthy, 1 not. Default config:
                                         ./proxy.json; default bound: 5 s
  proxy-server --dump-config-schema      print the config JSON Schema
  proxy-server --dump-openapi-spec       print the HTTP API's OpenAPI document (as /api-docs/openapi.json)
  proxy-server --dump-metric-metadata    print every metric's name, type, help and labels as JSON
  proxy-server --version                 print version and runtime
  proxy-server --help                    print this text

Environment:
  PROXY_SERVER_LOG    log filter, overrides the config's log.filter (e.g. "proxy_server=debug")
  PROXY_SERVER_HEALTHCHECK_USERNAME, PROXY_SERVER_HEALTHCHECK_PASSWORD
                      RFC 1929 credentials --healthcheck offers (needed when the listener
                      has require_auth)
`;

const OPTIONS = {
  config: { type: "string", short: "c" },
  listen: { type: "string", multiple: true },
  "timeout-seconds": { type: "string" },
  "no-splice": { type: "boolean" },
  "validate-config": { type: "string" },
  "proxy-config": { type: "string" },
  "convert-proxy-config": { type: "string" },
  "dump-config-schema": { type: "boolean" },
  "dump-openapi-spec": { type: "boolean" },
  "dump-metric-metadata": { type: "boolean" },
  healthcheck: { type: "boolean" },
  version: { type: "boolean", short: "V" },
  help: { type: "boolean", short: "h" },
} as const;

/** `--timeout-seconds N`: a positive number of seconds, or undefined when absent. */
function parseTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout-seconds expects a positive number of seconds, got ${JSON.stringify(raw)}`);
  }
  return seconds;
}

/**
 * Turn argv (without the program name) into a {@linkcode Command}.
 *
 * @throws {UsageError} for unknown flags, stray arguments, `--config` with
 * `--listen`, a bad `--timeout-seconds`, or no mode at all.
 * `--healthcheck` comes before the run modes: with it, `--config` and
 * `--listen` say which listener to check. `--proxy-config FILE.json` is
 * `--config FILE.json`; with any other FILE (a KumoProxy Lua policy) it is
 * a mode of its own, as is `--convert-proxy-config FILE`.
 */
export function parseCommand(argv: string[]): Command {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (values["dump-config-schema"]) return { kind: "dump-config-schema" };
  if (values["dump-openapi-spec"]) return { kind: "dump-openapi-spec" };
  if (values["dump-metric-metadata"]) return { kind: "dump-metric-metadata" };
  if (values["validate-config"] !== undefined) return { kind: "validate-config", file: values["validate-config"] };
  if (values["convert-proxy-config"] !== undefined) {
    return { kind: "convert-proxy-config", file: values["convert-proxy-config"] };
  }
  const proxyConfig = values["proxy-config"];
  if (proxyConfig !== undefined) {
    if (values.config !== undefined) throw new UsageError("--proxy-config and --config are mutually exclusive");
    // KumoProxy's --proxy-config names a Lua policy; a JSON file is our own config.
    if (/\.json$/i.test(proxyConfig)) {
      values.config = proxyConfig;
    } else {
      const other = values.healthcheck || (values.listen ?? []).length > 0 ||
        values["timeout-seconds"] !== undefined || values["no-splice"];
      if (other) throw new UsageError("--proxy-config with a Lua policy goes alone (see --help)");
      return { kind: "run-proxy-config", file: proxyConfig };
    }
  }
  const listen = values.listen ?? [];
  const timeoutSeconds = parseTimeout(values["timeout-seconds"]);
  if (values.healthcheck) {
    if (values.config !== undefined && listen.length > 0) {
      throw new UsageError("--healthcheck takes --config FILE or --listen ADDR, not both");
    }
    const target = values.config !== undefined
      ? { config: values.config }
      : listen.length > 0
      ? { listen: listen[0] }
      : { config: HEALTHCHECK_DEFAULT_CONFIG };
    return { kind: "healthcheck", target, timeoutSeconds: timeoutSeconds ?? HEALTHCHECK_TIMEOUT_SECONDS };
  }
  if (values.config !== undefined && listen.length > 0) {
    throw new UsageError("--config and --listen are mutually exclusive: put the listeners in the config file");
  }
  if (values.config !== undefined) {
    if (values["timeout-seconds"] !== undefined || values["no-splice"]) {
      throw new UsageError("--timeout-seconds and --no-splice go with --listen; with --config set `timeout` per listener");
    }
    return { kind: "run-config", file: values.config };
  }
  if (listen.length > 0) {
    return { kind: "run-legacy", listen, timeoutSeconds, noSplice: values["no-splice"] === true };
  }
  throw new UsageError(
    "nothing to do: give --config FILE (e.g. --config proxy.json) or --listen ADDR; see --help",
  );
}
