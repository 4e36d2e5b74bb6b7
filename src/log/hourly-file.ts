/**
 * The diagnostic log in hourly files (`--diag-log-dir DIR`, as KumoProxy's):
 * each line is appended to `DIR/proxy-server.YYYY-MM-DD-HH.log`, named by
 * the UTC hour it was written in, so a new file starts every hour and old
 * ones can be removed by age. Writes are synchronous appends, so a line is
 * on disk when the call returns and nothing is lost at exit.
 *
 * @module
 */

import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** The file name for the hour of `time`: `proxy-server.2026-12-01-14.log` (UTC). */
export function hourlyLogFileName(time: Date): string {
  return `proxy-server.${time.toISOString().slice(0, 13).replace("T", "-")}.log`;
}

/**
 * A log writer (for `configureLogging({ write })`) that appends each line to
 * the current hour's file in `dir`, creating `dir` when missing.
 *
 * @param dir the directory of the log files
 * @param now the clock (tests pass their own)
 * @returns the writer; it throws when the directory cannot be created or a
 *   file cannot be written
 * @example
 * ```ts
 * configureLogging({ format: "json", write: hourlyFileWriter("/var/log/proxy-server") });
 * ```
 */
export function hourlyFileWriter(dir: string, now: () => Date = () => new Date()): (line: string) => void {
  mkdirSync(dir, { recursive: true });
  return (line) => appendFileSync(join(dir, hourlyLogFileName(now())), line);
}
