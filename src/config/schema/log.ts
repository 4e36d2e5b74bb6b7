/**
 * `log`: the diagnostic log filter and output format. The filter uses the
 * syntax of KumoMTA's `--diag-log-filter` / `set_diagnostic_log_filter`
 * (Rust `tracing` `EnvFilter` directives), restricted to what proxy-server
 * implements: `LEVEL` or `TARGET=LEVEL`, comma separated.
 *
 * @module
 */

import * as v from "valibot";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";

/** Log levels, least to most severe, plus `off`. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "off"] as const;

/** One log level name. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A target: `proxy_server`, `proxy_server::egress`, ... */
const TARGET = "[A-Za-z0-9_.-]+(?:::[A-Za-z0-9_.-]+)*";
/** One directive: `LEVEL` or `TARGET=LEVEL`. */
const DIRECTIVE = `(?:${TARGET}=)?(?:${LOG_LEVELS.join("|")})`;

/**
 * Grammar of a log filter (also the JSON Schema `pattern`): comma-separated
 * directives, each `LEVEL` or `TARGET=LEVEL`, with optional spaces around
 * the commas. Example: `"proxy_server=info,proxy_server::egress=debug"`.
 */
export const LOG_FILTER_PATTERN: RegExp = new RegExp(
  `^\\s*${DIRECTIVE}(?:\\s*,\\s*${DIRECTIVE})*\\s*$`,
);

/** Whole-match test of one directive. */
const ONE_DIRECTIVE = new RegExp(`^${DIRECTIVE}$`);

/** Problem text for a bad filter, naming the first bad directive. */
function badFilter(input: unknown): string {
  const expected = `expected log directives "LEVEL" or "TARGET=LEVEL" separated by commas, ` +
    `LEVEL one of ${LOG_LEVELS.join(", ")}`;
  if (typeof input !== "string") return `${expected}, got ${got(input)}`;
  const bad = input.split(",").map((d) => d.trim()).find((d) => !ONE_DIRECTIVE.test(d));
  return `${expected}, got ${got(input)}` +
    (bad === undefined ? "" : ` (bad directive ${JSON.stringify(bad)})`);
}

/** `log`: `{ "filter", "format" }`, each with a default. */
export const LogSchema = v.pipe(
  strictObject({
    filter: v.optional(
      v.pipe(
        v.string(),
        v.regex(LOG_FILTER_PATTERN, (issue) => badFilter(issue.input)),
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
