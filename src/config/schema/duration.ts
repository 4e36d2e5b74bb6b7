/**
 * Durations, written the way KumoMTA users write them (`"60s"`,
 * `"60 seconds"`, `"5m"`, `"1h 30m"`, `"100ms"`), parsed to a number of
 * SECONDS, or given as a number of seconds (`30`), as KumoMTA's duration
 * fields also take. KumoMTA parses the strings with the `humantime` crate; the units
 * accepted here are the common subset (lower case; `m` is minutes). The
 * pattern decides what is accepted; `parse-duration` computes the length.
 * Threshold periods (`threshold.ts`) are read by the same function.
 *
 * @module
 */

import * as v from "valibot";
import parseDuration from "parse-duration";
import { got } from "./messages.ts";

/**
 * Unit names accepted in a duration, as regular-expression fragments
 * (`"seconds?"` is `second` or `seconds`), longest first. Every one is a unit
 * `parse-duration` knows (its English table, plurals by a trailing `s`).
 */
export const DURATION_UNITS = [
  "nanoseconds?",
  "nanosecs?",
  "ns",
  "microseconds?",
  "microsecs?",
  "us",
  "µs",
  "milliseconds?",
  "millisecs?",
  "ms",
  "seconds?",
  "secs?",
  "s",
  "minutes?",
  "mins?",
  "m",
  "hours?",
  "hrs?",
  "h",
  "days?",
  "d",
  "weeks?",
  "w",
] as const;

/**
 * The grammar of a duration string: one or more `<number><unit>` terms,
 * optionally separated by spaces; numbers are non-negative decimals. This is
 * also the JSON Schema `pattern`.
 */
export const DURATION_PATTERN: RegExp = new RegExp(
  `^\\s*(?:\\d+(?:\\.\\d+)?\\s*(?:${DURATION_UNITS.join("|")})\\s*)+$`,
);

/**
 * Largest duration accepted, in seconds: 2147483 s (about 24.8 days), the
 * longest delay a JavaScript timer (`setTimeout`) can represent.
 */
export const MAX_DURATION_SECONDS = 2147483;

/**
 * Parse a duration string to seconds, or `undefined` when it does not match
 * {@linkcode DURATION_PATTERN}.
 *
 * @example
 * ```ts
 * parseDurationSeconds("1h 30m"); // 5400
 * parseDurationSeconds("100ms"); // 0.1
 * parseDurationSeconds("sixty"); // undefined
 * ```
 */
export function parseDurationSeconds(text: string): number | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  const seconds = parseDuration(text, "s");
  // Round to whole nanoseconds so "1.1s" is 1.1, not 1.1000000000000003.
  return seconds === null ? undefined : Math.round(seconds * 1e9) / 1e9;
}

/** Problem text for a value that is neither a string nor a number. */
function notADuration(issue: v.BaseIssue<unknown>): string {
  return `expected a duration such as "60s", "5m" or "1h 30m", or a number of seconds, got ${got(issue.input)}`;
}

/** Problem text for a string that is not a duration. */
function notADurationString(issue: v.BaseIssue<unknown>): string {
  return `expected a duration such as "60s", "5m" or "1h 30m", got ${got(issue.input)}`;
}

/** Problem text for a duration past {@linkcode MAX_DURATION_SECONDS}. */
function tooLong(issue: v.BaseIssue<unknown>): string {
  return `expected a duration of at most ${MAX_DURATION_SECONDS} seconds (about 24 days), got ${got(issue.input)}`;
}

/**
 * What an editor shows for a duration string that does not match
 * {@linkcode DURATION_PATTERN} (the JSON Schema `patternErrorMessage`, which
 * VS Code shows in place of the regular expression).
 */
export const DURATION_PATTERN_MESSAGE =
  'Expected a duration such as "60s", "60 seconds", "5m", "1h 30m" or "100ms" (a number and a unit: ms, s, m, ' +
  "h, d, w), or a number of seconds.";

/** The string form of a duration: the pattern and the upper bound, with their messages. */
function durationText() {
  return v.pipe(
    v.string(notADurationString),
    v.regex(DURATION_PATTERN, notADurationString),
    v.check((text) => (parseDurationSeconds(text) ?? 0) <= MAX_DURATION_SECONDS, tooLong),
    v.metadata({ patternErrorMessage: DURATION_PATTERN_MESSAGE }),
  );
}

/**
 * A duration that must be written as a string (`"10m"`), for the HTTP API's
 * bodies, where a bare number stays an error; output in SECONDS like
 * {@linkcode duration}. Config keys use {@linkcode duration}.
 *
 * @param description the field's documentation
 * @example
 * ```ts
 * v.parse(durationString("How long."), "10m"); // 600
 * ```
 */
export function durationString(description: string) {
  return v.pipe(
    durationText(),
    v.description(description),
    v.examples(["60s", "5m", "1h 30m", "100ms"]),
    v.transform((text: string): number => parseDurationSeconds(text) ?? 0),
  );
}

/**
 * A duration key: on input a string in KumoMTA's duration syntax or a
 * non-negative number of seconds (KumoMTA's duration fields take both:
 * `timeout = 30` is 30 seconds); on output a number of SECONDS, at most
 * {@linkcode MAX_DURATION_SECONDS}. The JSON Schema gets `anyOf` a number
 * (`minimum` 0, `maximum`) and a string with the {@linkcode DURATION_PATTERN}
 * and its {@linkcode DURATION_PATTERN_MESSAGE}, and the `description`.
 *
 * @param description the key's documentation (units, KumoMTA option mirrored)
 * @example
 * ```ts
 * const timeout = v.optional(duration("Handshake timeout."), "60s");
 * v.parse(timeout, "1h 30m"); // 5400
 * v.parse(timeout, 30); // 30
 * ```
 */
export function duration(description: string) {
  return v.pipe(
    v.union([
      v.pipe(
        v.number(notADuration),
        v.minValue(0, (issue) => `expected a duration of 0 seconds or more, got ${got(issue.input)}`),
        v.maxValue(MAX_DURATION_SECONDS, tooLong),
      ),
      durationText(),
    ], notADuration),
    v.description(description),
    v.examples(["60s", "5m", "1h 30m", "100ms", 30]),
    v.transform((value: string | number): number =>
      typeof value === "number" ? value : parseDurationSeconds(value) ?? 0
    ),
  );
}
