/**
 * Command-line arguments, parsed with `node:util` `parseArgs` (available on
 * Deno and Bun). Mirrors KumoProxy's flags (`--listen`, `--timeout-seconds`,
 * `--no-splice`) next to the JSON config ones.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  ENVIRONMENT_TABLE,
  EXIT_STATUS_TABLE,
  OPTION_TABLE,
  optionLabel,
  parseArgsOptions,
  suggestOption,
  SYNOPSIS,
  wrap,
} from "./options.ts";

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
  | { kind: "completion"; shell: "bash" | "zsh" | "fish" }
  | {
    kind: "validate-config";
    /** The files to check, in order; `-` is standard input. */
    files: string[];
    /** `--resolve-secrets`: read secrets and TLS key files too. */
    resolveSecrets: boolean;
    /** `--format`, default `"text"`. */
    format: ValidateFormat;
  }
  | { kind: "run-config"; file: string; diag?: DiagOptions }
  | { kind: "convert-proxy-config"; file: string }
  | { kind: "run-proxy-config"; file: string; diag?: DiagOptions }
  | { kind: "run-legacy"; listen: string[]; timeoutSeconds?: number; noSplice: boolean; diag?: DiagOptions }
  | {
    kind: "healthcheck";
    /** `--config FILE`, `--listen ADDR` (the first one), or the default `proxy.json`. */
    target: { config: string } | { listen: string };
    /** `--timeout-seconds`, default {@linkcode HEALTHCHECK_TIMEOUT_SECONDS}. */
    timeoutSeconds: number;
  };

/** KumoProxy's `--diag-format` values. */
export const DIAG_FORMATS = ["full", "compact", "pretty", "json"] as const;

/**
 * KumoProxy's diagnostic-log flags: `--diag-format` (`json` is JSON lines;
 * `full`, `compact` and `pretty` the human format) and `--diag-log-dir DIR`
 * (hourly files in DIR instead of stderr).
 */
export interface DiagOptions {
  /** The log format the `--diag-format` value maps onto; wins over the config's `log.format`. */
  format?: "human" | "json";
  /** `--diag-log-dir`: where the hourly log files go. */
  logDir?: string;
}

/** `--diag-format` and `--diag-log-dir`, or undefined when neither is given. */
function parseDiag(format: string | undefined, logDir: string | undefined): DiagOptions | undefined {
  if (format === undefined && logDir === undefined) return undefined;
  if (format !== undefined && !(DIAG_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--diag-format expects one of ${DIAG_FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
  }
  if (logDir === "") throw new UsageError("--diag-log-dir expects a directory");
  return {
    ...(format === undefined ? {} : { format: format === "json" ? "json" : "human" }),
    ...(logDir === undefined ? {} : { logDir }),
  };
}

/** Default bound of `--healthcheck`, seconds. */
export const HEALTHCHECK_TIMEOUT_SECONDS = 5;

/** The config `--healthcheck` reads when given neither `--config` nor `--listen`. */
export const HEALTHCHECK_DEFAULT_CONFIG = "proxy.json";

/** Width of the option column of {@linkcode USAGE}. */
const LABEL_WIDTH = 34;

/**
 * Usage text for `--help`, built from the option table (`options.ts`):
 * the synopsis, every option with its short form, the environment and the
 * exit status.
 */
export const USAGE: string = [
  "Usage:",
  ...SYNOPSIS.map((line) => `  ${line}`),
  "",
  "Options:",
  ...OPTION_TABLE.flatMap((option) => {
    const label = `  ${optionLabel(option)}`;
    const [first, ...rest] = wrap(option.help, 100 - LABEL_WIDTH);
    const head = label.length < LABEL_WIDTH
      ? [`${label.padEnd(LABEL_WIDTH)}${first}`]
      : [label, `${" ".repeat(LABEL_WIDTH)}${first}`];
    return [...head, ...rest.map((line) => `${" ".repeat(LABEL_WIDTH)}${line}`)];
  }),
  "",
  "Environment:",
  ...ENVIRONMENT_TABLE.flatMap((env) => [`  ${env.name}`, ...wrap(env.help, 94).map((line) => `      ${line}`)]),
  "",
  "Exit status:",
  ...EXIT_STATUS_TABLE.flatMap(({ code, help }) =>
    wrap(help, 100 - 6).map((line, index) => `${index === 0 ? `  ${code}   ` : "      "}${line}`)
  ),
  "",
].join("\n");

/** The values `parseArgs` gives for {@linkcode OPTION_TABLE}. */
interface OptionValues {
  config?: string;
  listen?: string[];
  "timeout-seconds"?: string;
  "no-splice"?: boolean;
  "diag-format"?: string;
  "diag-log-dir"?: string;
  "validate-config"?: boolean;
  "resolve-secrets"?: boolean;
  format?: string;
  "proxy-config"?: string;
  "convert-proxy-config"?: string;
  "dump-config-schema"?: boolean;
  "dump-openapi-spec"?: boolean;
  "dump-metric-metadata"?: boolean;
  healthcheck?: boolean;
  version?: boolean;
  help?: boolean;
}

const OPTIONS = parseArgsOptions();

/** How `--validate-config` prints problems (`--format`). */
export const VALIDATE_FORMATS = ["text", "github"] as const;

/** One of {@linkcode VALIDATE_FORMATS}. */
export type ValidateFormat = typeof VALIDATE_FORMATS[number];

/** The name standing for standard input among `--validate-config` files. */
export const STDIN = "-";

/** The message of a parseArgs error, with the nearest option suggested for an unknown one. */
function usageMessage(error: Error & { code?: string }): string {
  if (error.code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION") return error.message;
  const given = /'([^']+)'/.exec(error.message)?.[1];
  if (given === undefined) return error.message;
  const suggestion = suggestOption(given);
  return `unknown option ${given}${suggestion === undefined ? "" : `; did you mean ${suggestion}?`} (see --help)`;
}

/** Options whose values are the arguments after them; `--name=VALUE` is split into `--name VALUE`. */
const ARGUMENT_OPTIONS = OPTION_TABLE.filter((option) => option.takesArguments).map((option) => `--${option.long}=`);

/** `argv` with `--validate-config=FILE` written as `--validate-config FILE`. */
function splitArgumentOptions(argv: readonly string[]): string[] {
  const end = argv.indexOf("--");
  return argv.flatMap((arg, index) => {
    const prefix = ARGUMENT_OPTIONS.find((p) => arg.startsWith(p));
    return prefix === undefined || (end >= 0 && index > end) ? [arg] : [prefix.slice(0, -1), arg.slice(prefix.length)];
  });
}

/** The files of `--validate-config`: the arguments, in order; `-` at most once. */
function validateFiles(positionals: readonly string[]): string[] {
  const files = [...positionals];
  if (files.length === 0) throw new UsageError("--validate-config needs at least one FILE (or - for standard input)");
  if (files.filter((file) => file === STDIN).length > 1) {
    throw new UsageError("--validate-config: standard input (-) can be read only once");
  }
  return files;
}

/** `--timeout-seconds N`: a positive number of seconds, or undefined when absent. */
function parseTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout-seconds expects a positive number of seconds, got ${JSON.stringify(raw)}`);
  }
  return seconds;
}

/** `{ diag }` for a run command, or `{}` without diagnostic flags. */
function diagOf(values: { "diag-format"?: string; "diag-log-dir"?: string }): { diag?: DiagOptions } {
  const diag = parseDiag(values["diag-format"], values["diag-log-dir"]);
  return diag === undefined ? {} : { diag };
}

/**
 * Turn argv (without the program name) into a {@linkcode Command}.
 *
 * @throws {UsageError} for unknown flags (suggesting the nearest one), stray
 * arguments (files after `--validate-config` are its files), `--config` with
 * `--listen`, a bad `--timeout-seconds`, or no mode at all.
 * `--healthcheck` comes before the run modes: with it, `--config` and
 * `--listen` say which listener to check. `--proxy-config FILE.json` is
 * `--config FILE.json`; with any other FILE (a KumoProxy Lua policy) it is
 * a mode of its own, as is `--convert-proxy-config FILE`.
 */
export function parseCommand(argv: string[]): Command {
  if (argv[0] === "completion") {
    const shell = argv[1];
    if (argv.length !== 2 || (shell !== "bash" && shell !== "zsh" && shell !== "fish")) {
      throw new UsageError("usage: proxy-server completion bash|zsh|fish");
    }
    return { kind: "completion", shell };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: splitArgumentOptions(argv), options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(usageMessage(error as Error));
  }
  const values = parsed.values as OptionValues;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (values["dump-config-schema"]) return { kind: "dump-config-schema" };
  if (values["dump-openapi-spec"]) return { kind: "dump-openapi-spec" };
  if (values["dump-metric-metadata"]) return { kind: "dump-metric-metadata" };
  if (values["validate-config"]) {
    const format = values.format ?? "text";
    if (!(VALIDATE_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`--format expects ${VALIDATE_FORMATS.join(" or ")}, got ${JSON.stringify(format)}`);
    }
    return {
      kind: "validate-config",
      files: validateFiles(parsed.positionals),
      resolveSecrets: values["resolve-secrets"] === true,
      format: format as ValidateFormat,
    };
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])} (see --help)`);
  }
  if (values["resolve-secrets"] || values.format !== undefined) {
    throw new UsageError("--resolve-secrets and --format go with --validate-config");
  }
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
      return { kind: "run-proxy-config", file: proxyConfig, ...diagOf(values) };
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
      throw new UsageError(
        "--timeout-seconds and --no-splice go with --listen; with --config set `timeout` per listener",
      );
    }
    return { kind: "run-config", file: values.config, ...diagOf(values) };
  }
  if (listen.length > 0) {
    return { kind: "run-legacy", listen, timeoutSeconds, noSplice: values["no-splice"] === true, ...diagOf(values) };
  }
  throw new UsageError(
    "nothing to do: give --config FILE (e.g. --config proxy.json) or --listen ADDR; see --help",
  );
}
