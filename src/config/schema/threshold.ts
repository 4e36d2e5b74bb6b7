/**
 * Thresholds, `"N/period"`: KumoMTA's TSA shaping syntax (`ThrottleSpec`),
 * used by the `{ "Threshold": "3/5m" }` trigger of the `suspend_when_*`
 * rules. The period is one duration term (an optional count and a unit) read
 * by the same parser as every other duration ({@linkcode parseDurationSeconds},
 * on `parse-duration`); only the unit spellings KumoMTA accepts in a
 * threshold are allowed.
 *
 * @module
 */

import * as v from "valibot";
import { parseDurationSeconds } from "./duration.ts";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";

/**
 * Unit spellings of a threshold period, as KumoMTA's `ThrottleSpec` accepts
 * them (lower case, singular). Each is also a duration unit, so
 * {@linkcode parseDurationSeconds} gives its length.
 */
export const THRESHOLD_UNITS = ["s", "sec", "second", "m", "min", "minute", "h", "hr", "hour", "d", "day"] as const;

/** Grammar of `"N/period"` (also the JSON Schema `pattern`). */
export const THRESHOLD_PATTERN = `^\\s*[0-9][0-9_,]*\\s*/\\s*[0-9]*\\s*(?:${THRESHOLD_UNITS.join("|")})\\s*$`;

const THRESHOLD = new RegExp(THRESHOLD_PATTERN);

/** What an editor shows for a threshold that does not match {@linkcode THRESHOLD_PATTERN}. */
export const THRESHOLD_PATTERN_MESSAGE =
  'Expected "N/period": a number of failures, "/", then an optional count and a unit s, m, h or d, such as ' +
  '"3/5m" (3 in 5 minutes), "10/hour" or "1/s".';

/**
 * Parse a threshold `"N/period"` as KumoMTA's TSA shaping rules write it:
 * `N` failures (digits, `_` or `,` allowed as separators) per `period`, an
 * optional count and a unit ({@linkcode THRESHOLD_UNITS}), e.g. `"3/5m"`
 * (3 in 5 minutes), `"10/hour"`, `"1_000/d"`.
 *
 * @returns `{ limit, period }` (period in seconds), or `undefined` when
 * `text` is not a threshold or its limit or period is 0.
 * @example
 * ```ts
 * parseThreshold("3/5m"); // { limit: 3, period: 300 }
 * parseThreshold("1_000/2h"); // { limit: 1000, period: 7200 }
 * parseThreshold("3/5x"); // undefined
 * ```
 */
export function parseThreshold(text: string): { limit: number; period: number } | undefined {
  if (!THRESHOLD.test(text)) return undefined;
  const [limitText, periodText] = text.split("/");
  const limit = Number(limitText.trim().replace(/[_,]/g, ""));
  const m = /^\s*(\d*)\s*([a-z]+)\s*$/.exec(periodText)!;
  const period = parseDurationSeconds(`${m[1] === "" ? "1" : m[1]}${m[2]}`) ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 1 || period < 1) return undefined;
  return { limit, period };
}

/**
 * A `trigger` of a `suspend_when_*` rule: `"Immediate"`, or
 * `{ "Threshold": "N/period" }`; output `"Immediate"` or `{ limit, period }`.
 */
export const TriggerSchema = v.union([
  v.pipe(v.literal("Immediate"), v.description("Fire on the first matching failure.")),
  v.pipe(
    strictObject({
      Threshold: v.pipe(
        v.string(),
        v.regex(THRESHOLD, (issue) => `expected "N/period" such as "3/5m" or "10/hour", got ${got(issue.input)}`),
        v.metadata({ patternErrorMessage: THRESHOLD_PATTERN_MESSAGE }),
        v.check(
          (text) => parseThreshold(text) !== undefined,
          (issue) => `expected a limit and a period of at least 1, got ${got(issue.input)}`,
        ),
        v.description(
          'Fire once N matching failures fall inside a rolling window of the period: "3/5m" is 3 failures ' +
            "in 5 minutes (KumoMTA's TSA syntax: N, then an optional count and a unit s, m, h or d).",
        ),
        v.transform((text) => parseThreshold(text)!),
      ),
    }, '{ "Threshold": "N/period" }'),
    v.transform((trigger) => trigger.Threshold),
  ),
], (issue) => `expected "Immediate" or { "Threshold": "N/period" }, got ${got(issue.input)}`);
