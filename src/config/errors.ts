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
}

/**
 * A config that cannot be used: one or more {@linkcode ConfigProblem}s. The
 * `message` has one line per problem, `FILE: $.path: message`, ready for
 * stderr.
 */
export class ConfigError extends Error {
  /** Every problem found, in document order (never empty). */
  readonly problems: ConfigProblem[];

  /** @param problems the problems; at least one */
  constructor(problems: ConfigProblem[]) {
    super(problems.map((p) => `${p.file}: ${p.path}: ${p.message}`).join("\n"));
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
  let text = "$";
  for (const item of path ?? []) {
    const key = item.key;
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && IDENTIFIER.test(key)) text += `.${key}`;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text;
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
