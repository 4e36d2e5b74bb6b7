/**
 * Diagnostic logging for proxy-server, on LogTape. Every logger lives under
 * the `proxy_server` target (KumoMTA's proxy-server crate name), so a filter
 * such as `proxy_server::egress=debug` reaches one concern. Lines go to
 * standard error, as human text or JSON lines. The access log
 * (`proxy_server::access`, see `access.ts`) goes with them, or, when an
 * access file is configured, to that file as JSON lines instead.
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
import { formatAccessHuman, formatAccessJson, isAccessRecord } from "./access.ts";
import { AccessFile } from "./access-file.ts";

export { hourlyFileWriter, hourlyLogFileName } from "./hourly-file.ts";
export { FILTER_LEVELS, type FilterDirective, type FilterLevel, LogFilterError, parseLogFilter } from "./filter.ts";
export {
  ACCESS_CATEGORY,
  ACCESS_FIELD_NAMES,
  type AccessFields,
  accessLogEnabled,
  accessText,
  logAccess,
} from "./access.ts";
export { AccessFile } from "./access-file.ts";
export { rateLimited, type RateLimitedLevel, type RateLimitedLog, type RateLimitOptions } from "./rate-limit.ts";

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

const ACCESS_FORMATTERS: Record<LogFormat, (record: LogRecord) => string> = {
  human: formatAccessHuman,
  json: formatAccessJson,
};

let state: { filter: string; format: LogFormat; write: LogWriter; accessFile: string | undefined } = {
  filter: DEFAULT_LOG_FILTER,
  format: "human",
  write: (line) => process.stderr.write(line),
  accessFile: undefined,
};

/** The open access file, when `state.accessFile` is set. */
let accessFile: AccessFile | undefined;

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
  const accessFormatter = ACCESS_FORMATTERS[state.format];
  const write = state.write;
  const file = accessFile;
  // One sink: access records get their own rendering, and go to the access
  // file when there is one; every other record is a diagnostic line.
  const out = file === undefined
    ? (record: LogRecord) => write(isAccessRecord(record) ? accessFormatter(record) : formatter(record))
    : (record: LogRecord) => {
      if (isAccessRecord(record)) file.write(formatAccessJson(record), reportAccessFileError);
      else write(formatter(record));
    };
  configureSync({
    reset: true,
    sinks: { out },
    loggers: loggerConfigs(directives),
  });
}

let lastAccessFileError = 0;

/** A failed access-file write: one ERROR line on the diagnostic log per minute at most. */
function reportAccessFileError(error: unknown): void {
  const now = Date.now();
  if (now - lastAccessFileError < 60_000) return;
  lastAccessFileError = now;
  // Written straight to the diagnostic writer (this runs inside the sink), in its format.
  const text = `cannot write the access file ${JSON.stringify(state.accessFile)}: ${String(error)}`;
  state.write(FORMATTERS[state.format]({
    category: [ROOT_TARGET, "log"],
    level: "error",
    message: [text],
    rawMessage: text,
    properties: { path: state.accessFile, error: String(error) },
    timestamp: now,
  }));
}

/** Options of {@linkcode configureLogging}; an omitted key keeps its current value. */
export interface LoggingOptions {
  /** Filter text (see {@linkcode parseLogFilter}); default {@linkcode DEFAULT_LOG_FILTER}. */
  filter?: string;
  /** `"human"` (default) or `"json"`. */
  format?: LogFormat;
  /** Where lines go; default standard error. Tests pass a collector. */
  write?: LogWriter;
  /**
   * A file for the access log (`log.access_file`): access lines go there as
   * JSON lines, not to `write`; `null` sends them back to `write`. Opened
   * (appended to) now; reopen it with {@linkcode reopenAccessFile}.
   */
  accessFile?: string | null;
}

/**
 * Set up logging once at start (and again on reload).
 *
 * @throws {LogFilterError} when the filter is malformed (nothing is changed then).
 * @throws the runtime's error (with `code`) when the access file cannot be opened (nothing is changed then).
 */
export function configureLogging(options: LoggingOptions = {}): void {
  const next = {
    filter: options.filter ?? state.filter,
    format: options.format ?? state.format,
    write: options.write ?? state.write,
    accessFile: options.accessFile === null ? undefined : options.accessFile ?? state.accessFile,
  };
  parseLogFilter(next.filter);
  if (next.accessFile !== state.accessFile) {
    const opened = next.accessFile === undefined ? undefined : new AccessFile(next.accessFile);
    accessFile?.close();
    accessFile = opened;
  }
  state = next;
  apply();
}

/**
 * Reopen the access file at its configured path (SIGUSR1, after logrotate
 * moved it away); does nothing without one.
 *
 * @returns the path reopened, or undefined without an access file
 * @throws the runtime's error when the path cannot be opened; the old file then stays in use
 */
export function reopenAccessFile(): string | undefined {
  accessFile?.reopen();
  return accessFile?.path;
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
