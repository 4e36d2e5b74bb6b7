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
  constructor(message: string) {
    super(message);
    this.name = "LogFilterError";
  }
}

const TARGET = /^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Parse a filter: comma-separated directives, each `LEVEL` or `TARGET=LEVEL`,
 * where TARGET is a `::`-separated path (`proxy_server`, `proxy_server::egress`)
 * and LEVEL one of {@linkcode FILTER_LEVELS} (case-insensitive).
 *
 * @example
 * parseLogFilter("info,proxy_server::egress=debug");
 * // => [{ target: [], level: "info" }, { target: ["proxy_server","egress"], level: "debug" }]
 * @throws {LogFilterError} on an empty filter, an unknown level or a malformed target.
 */
export function parseLogFilter(text: string): FilterDirective[] {
  const parts = text.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0) throw new LogFilterError("empty log filter");
  return parts.map((part) => {
    const eq = part.indexOf("=");
    const targetText = eq < 0 ? "" : part.slice(0, eq).trim();
    const levelText = (eq < 0 ? part : part.slice(eq + 1)).trim().toLowerCase();
    const level = (levelText === "warning" ? "warn" : levelText) as FilterLevel;
    if (!FILTER_LEVELS.includes(level)) {
      throw new LogFilterError(
        `unknown level "${levelText}" in directive "${part}" (expected one of ${FILTER_LEVELS.join(", ")})`,
      );
    }
    if (eq >= 0 && !TARGET.test(targetText)) {
      throw new LogFilterError(`malformed target "${targetText}" in directive "${part}" (expected e.g. proxy_server::egress)`);
    }
    return { target: targetText === "" ? [] : targetText.split("::"), level };
  });
}
