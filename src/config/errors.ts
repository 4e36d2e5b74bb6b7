/**
 * Configuration problems and the error that carries them.
 *
 * @module
 */

import type * as v from "valibot";

/**
 * One thing wrong with a config file.
 *
 * @example
 * ```ts
 * const problem: ConfigProblem = {
 *   file: "proxy.json",
 *   path: "$.proxy_listeners[0].timeout",
 *   message: 'expected a duration such as "60s", "5m" or "1h 30m", got "sixty"',
 * };
 * ```
 */
export interface ConfigProblem {
  /** The config file, as given to `loadConfig`/`parseConfig`. */
  file: string;
  /** JSON path of the offending value, e.g. `$.users[1].username`; `$` is the whole document. */
  path: string;
  /** What was expected and what was found. */
  message: string;
  /**
   * Line (from 1) of the value at `path` in the file, when the problem came
   * from a JSON text (`loadConfig`, a `.json` sources file); absent otherwise.
   */
  line?: number;
  /** Column (from 1, in UTF-16 code units) of the value at `path`; set together with `line`. */
  column?: number;
}

/**
 * `FILE:LINE:COLUMN: $.path: message`, or `FILE: $.path: message` when the
 * problem has no position: one line for stderr.
 *
 * @example
 * ```ts
 * formatProblem({ file: "proxy.json", line: 4, column: 18, path: "$.proxy_listeners[0].timeout",
 *   message: 'expected a duration such as "60s", "5m" or "1h 30m", got "sixty"' });
 * // 'proxy.json:4:18: $.proxy_listeners[0].timeout: expected a duration such as ...'
 * ```
 */
export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column}`;
  return `${where}: ${problem.path}: ${problem.message}`;
}

/**
 * A config that cannot be used: one or more {@linkcode ConfigProblem}s. The
 * `message` has one line per problem, `FILE:LINE:COLUMN: $.path: message`
 * (`FILE: $.path: message` without a position; see
 * {@linkcode formatProblem}), ready for stderr.
 */
export class ConfigError extends Error {
  /** Every problem found, in document order (never empty). */
  readonly problems: ConfigProblem[];

  /** @param problems the problems; at least one */
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Keys written `.key` in a JSON path; others are written `["key"]`. */
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * The JSON path of a valibot issue path: `$`, then `.key` or `["odd key"]`
 * for object keys and `[index]` for array items.
 *
 * @example
 * ```ts
 * jsonPath(issue.path); // "$.proxy_listeners[0].timeout"
 * ```
 */
export function jsonPath(path: readonly v.IssuePathItem[] | undefined): string {
  return jsonPathOf((path ?? []).map((item) => typeof item.key === "number" ? item.key : String(item.key)));
}

/** One step of a JSON path: an object key or an array index. */
export type JsonPathSegment = string | number;

/**
 * The JSON path of keys and indexes: `$`, then `.key` or `["odd key"]` for
 * keys and `[index]` for indexes.
 *
 * @example
 * ```ts
 * jsonPathOf(["sources", "ip-1", "health_check"]); // '$.sources["ip-1"].health_check'
 * ```
 */
export function jsonPathOf(segments: readonly JsonPathSegment[]): string {
  return "$" + segments.map((s) => typeof s === "number" ? `[${s}]` : jsonKey(s)).join("");
}

/** One step of a JSON path as {@linkcode jsonPathOf} writes it. */
const STEP = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/**
 * The keys and indexes of a JSON path written by {@linkcode jsonPathOf}
 * (and so {@linkcode jsonPath}), or `undefined` when `path` is not one.
 *
 * @example
 * ```ts
 * parseJsonPath('$.sources["ip-1"].entries[0]'); // ["sources", "ip-1", "entries", 0]
 * ```
 */
export function parseJsonPath(path: string): JsonPathSegment[] | undefined {
  if (!path.startsWith("$")) return undefined;
  const segments: JsonPathSegment[] = [];
  STEP.lastIndex = 1;
  while (STEP.lastIndex < path.length) {
    const m = STEP.exec(path);
    if (m === null) return undefined;
    segments.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(m[3]) as string));
  }
  return segments;
}

/** Where the value at a JSON path is in a file's text (see `JsonDocument.locate`). */
export type Locate = (path: string) => { line: number; column: number } | undefined;

/**
 * `problems` with the line and column of their path filled in from the
 * locator of their file, where there is one and they have none yet.
 *
 * @param problems the problems, in order (not changed)
 * @param locators file name -> where paths are in that file's text
 * @returns new problem objects, in the same order
 */
export function withPositions(
  problems: readonly ConfigProblem[],
  locators: ReadonlyMap<string, Locate>,
): ConfigProblem[] {
  return problems.map((problem) => {
    const position = problem.line === undefined ? locators.get(problem.file)?.(problem.path) : undefined;
    return position === undefined ? problem : { ...problem, line: position.line, column: position.column };
  });
}

/**
 * One object key as a JSON path step: `.key`, or `["odd key"]` when the key
 * is not an identifier (the spelling {@linkcode jsonPath} uses).
 */
export function jsonKey(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Turn valibot issues into problems of `file`, one per issue, in order. */
export function issuesToProblems(
  issues: readonly v.BaseIssue<unknown>[],
  file: string,
): ConfigProblem[] {
  return issues.map((issue) => ({ file, path: jsonPath(issue.path), message: issue.message }));
}
