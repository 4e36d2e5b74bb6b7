/**
 * The diagnostic log filter: the directive syntax KumoMTA (Rust `tracing`'s
 * `EnvFilter`) uses, e.g. `"proxy_server=info"` or
 * `"warn,proxy_server::egress=debug"`.
 *
 * @module
 */

/** A level name as written in a filter. `off` silences the target. */
export type FilterLevel = "trace" | "debug" | "info" | "warn" | "error" | "off";

/** The levels accepted in a filter, lowest first. */
export const FILTER_LEVELS: readonly FilterLevel[] = ["trace", "debug", "info", "warn", "error", "off"];

/** One directive: `target` is the category path (`[]` for a bare level). */
export interface FilterDirective {
  /** Category path, e.g. `["proxy_server", "egress"]` for `proxy_server::egress`; `[]` for every target. */
  target: string[];
  /** Lowest level let through for that target and its children. */
  level: FilterLevel;
}

/** Raised by {@linkcode parseLogFilter} for text that is not a valid filter. */
export class LogFilterError extends Error {
  /** The first directive that is not valid. */
  readonly directive: string;
  constructor(directive: string) {
    super(`${FILTER_EXPECTED}; bad directive ${JSON.stringify(directive)}`);
    this.name = "LogFilterError";
    this.directive = directive;
  }
}

/** What a filter must look like, in words (used in error messages). */
export const FILTER_EXPECTED = `expected log directives "LEVEL" or "TARGET=LEVEL" separated by commas, ` +
  `LEVEL one of ${FILTER_LEVELS.join(", ")}`;

/** A target: `proxy_server`, `proxy_server::egress`, ... */
const TARGET = "[A-Za-z0-9_.-]+(?:::[A-Za-z0-9_.-]+)*";
/** One directive: `LEVEL` or `TARGET=LEVEL`. */
const DIRECTIVE = `(?:${TARGET}=)?(?:${FILTER_LEVELS.join("|")})`;
const ONE_DIRECTIVE = new RegExp(`^${DIRECTIVE}$`);

/**
 * The grammar of a whole filter as one regular expression (it is also the
 * JSON Schema `pattern` of the `log.filter` config key): comma-separated
 * directives, each `LEVEL` or `TARGET=LEVEL`, with optional spaces around
 * the commas. Example: `"proxy_server=info,proxy_server::egress=debug"`.
 */
export const LOG_FILTER_PATTERN: RegExp = new RegExp(`^\\s*${DIRECTIVE}(?:\\s*,\\s*${DIRECTIVE})*\\s*$`);

/**
 * Parse a filter: comma-separated directives, each `LEVEL` or `TARGET=LEVEL`,
 * where TARGET is a `::`-separated path (`proxy_server`, `proxy_server::egress`)
 * and LEVEL one of {@linkcode FILTER_LEVELS}. Later directives for the same
 * target win, as in `tracing`'s `EnvFilter`.
 *
 * @example
 * parseLogFilter("info,proxy_server::egress=debug");
 * // => [{ target: [], level: "info" }, { target: ["proxy_server","egress"], level: "debug" }]
 * @throws {LogFilterError} naming the first bad directive.
 */
export function parseLogFilter(text: string): FilterDirective[] {
  const parts = text.split(",").map((p) => p.trim());
  const bad = parts.find((p) => !ONE_DIRECTIVE.test(p));
  if (bad !== undefined) throw new LogFilterError(bad);
  return parts.map((part) => {
    const eq = part.lastIndexOf("=");
    return {
      target: eq < 0 ? [] : part.slice(0, eq).split("::"),
      level: part.slice(eq + 1) as FilterLevel,
    };
  });
}
