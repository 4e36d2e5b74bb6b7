/**
 * Wording of configuration problems: every message says what was expected and
 * what was found (`expected a duration such as "60s" or "5m", got "sixty"`).
 * Shared by the schema parts so the tone is the same everywhere.
 *
 * @module
 */

import type * as v from "valibot";

/** Longest rendering of a found value inside a message, in characters. */
const MAX_SHOWN = 60;

/**
 * Render a found value for a message: JSON text, shortened to about 60
 * characters; `undefined` becomes `nothing`.
 *
 * Never pass secret values (passwords, hashes) here.
 *
 * @example
 * ```ts
 * got("sixty"); // '"sixty"'
 * got({ a: 1 }); // '{"a":1}'
 * ```
 */
export function got(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}

/** Plain-English noun for a valibot `expects` token ("string" -> "a string"). */
function noun(expected: string | null): string {
  switch (expected) {
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "number":
      return "a number";
    case "Array":
      return "an array";
    case "Object":
      return "an object";
    case null:
      return "a valid value";
    default:
      return expected;
  }
}

/**
 * Fallback message for any valibot issue whose schema or action did not set
 * its own: `expected <noun>, got <value>`. Passed as the `message` option of
 * `v.safeParse`, so it applies to plain `v.string()`, `v.boolean()`,
 * `v.array()` and the like.
 */
export function fallbackMessage(issue: v.BaseIssue<unknown>): string {
  return `expected ${noun(issue.expected)}, got ${got(issue.input)}`;
}

/** Number of bytes of `text` in UTF-8 (RFC 1929 counts ULEN/PLEN in bytes). */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
