/**
 * `proxy-server --validate-config [--resolve-secrets] [--format text|github]
 * FILE|- ...`: check config files for CI and pre-commit hooks without
 * starting anything.
 *
 * Every file is checked on its own and all of its problems are printed:
 * with `--format text`, one `FILE:LINE:COLUMN: $.json.path: message` line
 * each on stderr; with `--format github`, one GitHub Actions annotation each
 * on stdout (`::error file=FILE,line=LINE,col=COLUMN::$.json.path:
 * message`). A valid file gets `FILE: valid` on stdout. Secrets are checked
 * for form only unless `resolveSecrets` is set (see
 * `ParseConfigOptions.resolveSecrets`); `sources_file`s are config and are
 * read either way.
 *
 * @module
 */
import { ConfigError, type ConfigIo, type ConfigProblem, formatProblem, loadConfigText } from "../config/index.ts";
import { STDIN, type ValidateFormat } from "./args.ts";

/** The name problems of standard input are reported under. */
export const STDIN_NAME = "<stdin>";

/** What {@linkcode validateCommand} needs besides the config I/O. */
export interface ValidateOutput {
  /** Writes one line (or several) to stdout. */
  out(text: string): void;
  /** Writes one line (or several) to stderr. */
  err(text: string): void;
  /** Reads all of standard input, for the file `-`. */
  readStdin(): Promise<string>;
}

/** `%`, CR and LF escaped as a workflow command's message must have them. */
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** A workflow command property value: as {@linkcode escapeData}, plus `:` and `,`. */
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/**
 * A problem as a GitHub Actions error annotation:
 * `::error file=FILE,line=LINE,col=COLUMN::$.json.path: message` (no
 * `line`/`col` when the problem has no position; no `file` for standard
 * input, whose name is then the start of the message).
 *
 * @example
 * ```ts
 * githubAnnotation({ file: "proxy.json", line: 4, column: 18, path: "$.log.format",
 *   message: 'expected "human" or "json", got "xml"' });
 * // '::error file=proxy.json,line=4,col=18::$.log.format: expected "human" or "json", got "xml"'
 * ```
 */
export function githubAnnotation(problem: ConfigProblem): string {
  const properties: string[] = [];
  if (problem.file !== STDIN_NAME) properties.push(`file=${escapeProperty(problem.file)}`);
  if (problem.line !== undefined) properties.push(`line=${problem.line}`, `col=${problem.column}`);
  const message = problem.file === STDIN_NAME ? formatProblem(problem) : `${problem.path}: ${problem.message}`;
  return `::error${properties.length > 0 ? ` ${properties.join(",")}` : ""}::${escapeData(message)}`;
}

/**
 * Check each of `files` (`-` is standard input, reported as `<stdin>`,
 * its relative paths taken from the working directory) and print the
 * outcome in `format`.
 *
 * @param files the files, in order
 * @param io file and environment access for the loader (its `notice` is replaced)
 * @param options `resolveSecrets`: read secrets and TLS key files too;
 *   `format`: `"text"` or `"github"`
 * @param output where to print, and how to read standard input
 * @returns the exit status: 0 when every file is valid, 2 when any is not
 */
export async function validateCommand(
  files: readonly string[],
  io: ConfigIo,
  options: { resolveSecrets: boolean; format: ValidateFormat },
  output: ValidateOutput,
): Promise<number> {
  const github = options.format === "github";
  const loaderIo: ConfigIo = {
    readTextFile: (path) => io.readTextFile(path),
    env: (name) => io.env(name),
    notice: (text) => github ? output.out(`::notice::${escapeData(text)}`) : output.err(`notice: ${text}`),
  };
  let status = 0;
  for (const file of files) {
    const name = file === STDIN ? STDIN_NAME : file;
    let problems: ConfigProblem[] = [];
    try {
      let text: string;
      try {
        text = file === STDIN ? await output.readStdin() : await io.readTextFile(file);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new ConfigError([{ file: name, path: "$", message: `cannot read the file: ${why}` }]);
      }
      await loadConfigText(text, name, loaderIo, {
        configPath: file === STDIN ? undefined : file,
        resolveSecrets: options.resolveSecrets,
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    if (problems.length === 0) {
      output.out(`${name}: valid`);
      continue;
    }
    status = 2;
    for (const problem of problems) {
      if (github) output.out(githubAnnotation(problem));
      else output.err(formatProblem(problem));
    }
  }
  return status;
}
