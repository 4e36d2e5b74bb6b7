/**
 * Diagnostic logging for proxy-server, on LogTape. Every logger lives under
 * the `proxy_server` target (KumoMTA's proxy-server crate name), so a filter
 * such as `proxy_server::egress=debug` reaches one concern. Lines go to
 * standard error, as human text or JSON lines.
 *
 * @module
 */
import {
  configureSync,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LoggerConfig,
  type LogLevel,
  type LogRecord,
  type TextFormatter,
} from "@logtape/logtape";
import process from "node:process";
import { type FilterDirective, type FilterLevel, parseLogFilter } from "./filter.ts";

export { hourlyFileWriter, hourlyLogFileName } from "./hourly-file.ts";
export { FILTER_LEVELS, type FilterDirective, type FilterLevel, LogFilterError, parseLogFilter } from "./filter.ts";
export { type RateLimitedLevel, type RateLimitedLog, rateLimited, type RateLimitOptions } from "./rate-limit.ts";

/** The root target of every proxy-server logger. */
export const ROOT_TARGET = "proxy_server";

/** The default filter, as KumoProxy's: `proxy_server=info`. */
export const DEFAULT_LOG_FILTER = "proxy_server=info";

/** Output format of log lines: `human` text or one JSON object per line. */
export type LogFormat = "human" | "json";

/** A function that receives each formatted line (without trailing newline handling). */
export type LogWriter = (line: string) => void;

const LEVELS: Record<Exclude<FilterLevel, "off">, LogLevel> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

const FORMATTERS: Record<LogFormat, TextFormatter> = {
  human: getTextFormatter({ timestamp: "rfc3339", level: "FULL", category: "::", value: "bare" }),
  json: getJsonLinesFormatter({ categorySeparator: "::", message: "rendered" }),
};

let state: { filter: string; format: LogFormat; write: LogWriter } = {
  filter: DEFAULT_LOG_FILTER,
  format: "human",
  write: (line) => process.stderr.write(line),
};

function loggerConfigs(directives: FilterDirective[]): LoggerConfig<"out", never>[] {
  // Later directives win for the same target, as in tracing's EnvFilter.
  const byTarget = new Map<string, FilterDirective>();
  for (const d of directives) byTarget.set(d.target.join("::"), d);
  const configs: LoggerConfig<"out", never>[] = [...byTarget.values()].map((d) =>
    d.level === "off"
      ? { category: d.target, lowestLevel: null, sinks: [], parentSinks: "override" }
      : { category: d.target, lowestLevel: LEVELS[d.level], sinks: ["out"], parentSinks: "override" }
  );
  if (!byTarget.has("")) configs.push({ category: [], lowestLevel: "error", sinks: ["out"] });
  configs.push({ category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"], parentSinks: "override" });
  return configs;
}

function apply(): void {
  const directives = parseLogFilter(state.filter);
  const formatter = FORMATTERS[state.format];
  const write = state.write;
  configureSync({
    reset: true,
    sinks: { out: (record: LogRecord) => write(formatter(record)) },
    loggers: loggerConfigs(directives),
  });
}

/**
 * Set up logging once at start.
 *
 * @param options.filter filter text (see {@linkcode parseLogFilter}); default {@linkcode DEFAULT_LOG_FILTER}.
 * @param options.format `"human"` (default) or `"json"`.
 * @param options.write where lines go; default standard error. Tests pass a collector.
 * @throws {LogFilterError} when the filter is malformed (nothing is changed then).
 */
export function configureLogging(options: { filter?: string; format?: LogFormat; write?: LogWriter } = {}): void {
  const next = {
    filter: options.filter ?? state.filter,
    format: options.format ?? state.format,
    write: options.write ?? state.write,
  };
  parseLogFilter(next.filter);
  state = next;
  apply();
}

/**
 * Replace the filter at run time, without restart (the
 * `/api/admin/set_diagnostic_log_filter/v1` endpoint of KumoProxy).
 *
 * @throws {LogFilterError} when `filter` is malformed; the old filter then stays.
 */
export function setLogFilter(filter: string): void {
  parseLogFilter(filter);
  state = { ...state, filter };
  apply();
}

/** The filter in force now. */
export function currentLogFilter(): string {
  return state.filter;
}

/**
 * A logger for one concern: `getLog("egress")` logs under target
 * `proxy_server::egress`.
 */
export function getLog(...concern: string[]): Logger {
  return getLogger([ROOT_TARGET, ...concern]);
}
