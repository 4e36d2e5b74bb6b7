/**
 * `log`: the diagnostic log filter and output format. The filter uses the
 * syntax of KumoMTA's `--diag-log-filter` / `set_diagnostic_log_filter`
 * (Rust `tracing` `EnvFilter` directives), restricted to what proxy-server
 * implements: `LEVEL` or `TARGET=LEVEL`, comma separated.
 *
 * @module
 */

import * as v from "valibot";
import {
  FILTER_EXPECTED,
  FILTER_LEVELS,
  type FilterLevel,
  LOG_FILTER_PATTERN,
  type LogFilterError,
  parseLogFilter,
} from "../../log/filter.ts";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";

/** Log levels, least to most severe, plus `off` (the log module's list). */
export const LOG_LEVELS = FILTER_LEVELS;

/** One log level name. */
export type LogLevel = FilterLevel;

/** Problem text for a bad filter, naming the first bad directive (the log module's own message). */
function badFilter(input: unknown): string {
  if (typeof input !== "string") return `${FILTER_EXPECTED}, got ${got(input)}`;
  try {
    parseLogFilter(input);
    return `${FILTER_EXPECTED}, got ${got(input)}`;
  } catch (error) {
    const directive = (error as LogFilterError).directive;
    return `${FILTER_EXPECTED}, got ${got(input)} (bad directive ${JSON.stringify(directive)})`;
  }
}

/** `log`: `{ "filter", "format" }`, each with a default. */
export const LogSchema = v.pipe(
  strictObject({
    filter: v.optional(
      v.pipe(
        v.string(),
        v.regex(LOG_FILTER_PATTERN, (issue) => badFilter(issue.input)),
        v.metadata({
          patternErrorMessage: 'Expected log directives "LEVEL" or "TARGET=LEVEL" separated by commas, such as ' +
            '"proxy_server=info" or "warn,proxy_server::egress=debug" (LEVEL: trace, debug, info, warn, error, off).',
        }),
        v.description(
          'Which diagnostic log records to keep: comma-separated directives "LEVEL" or ' +
            '"TARGET=LEVEL" (LEVEL: trace, debug, info, warn, error, off), as KumoMTA\'s ' +
            "--diag-log-filter. Can be changed at run time through " +
            "/api/admin/set_diagnostic_log_filter/v1. Default: \"proxy_server=info\".",
        ),
        v.examples(["proxy_server=info", "proxy_server=debug,proxy_server::egress=trace", "warn"]),
      ),
      "proxy_server=info",
    ),
    format: v.optional(
      v.pipe(
        v.picklist(
          ["human", "json"],
          (issue) => `expected "human" or "json", got ${got(issue.input)}`,
        ),
        v.description(
          'Log line format on stderr: "human" (one readable line per record) or ' +
            '"json" (one JSON object per line). Default: "human".',
        ),
      ),
      "human",
    ),
  }, "the log settings"),
  v.description("Diagnostic logging. Default: {} (all keys at their defaults)."),
);
