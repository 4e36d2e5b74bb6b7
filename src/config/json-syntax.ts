/**
 * JSON syntax errors worded for a person, the same on Deno and Bun (whose
 * `JSON.parse` messages differ): `jsonc-parser` finds the first error and
 * its offset; what came before it (tracked through the parser's events)
 * says what was expected there, e.g.
 * `expected "," or "}" after the property value, got "\"timeout\""`.
 *
 * @module
 */

import { printParseErrorCode, visit } from "jsonc-parser";

/** `jsonc-parser` options for JSON, not JSONC: comments and trailing commas are errors. */
export const JSON_OPTIONS = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false } as const;

/** Describe the text found at `offset`: `"x"`, or `the end of the file`. */
function foundAt(text: string, offset: number): string {
  if (offset >= text.length) return "the end of the file";
  const rest = text.slice(offset).match(/^(?:[A-Za-z0-9_$.+-]+|[^])/u)?.[0] ?? text[offset];
  // Invisible characters (no-break space, U+2028, ...) written as \uXXXX so they can be seen.
  return JSON.stringify(rest.length > 20 ? rest.slice(0, 20) : rest)
    .replace(/(?! )[\p{Z}\p{Cf}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * What is wrong with the string token at `offset` of `text` (`length` long,
 * from its opening quote): the offset of the offending character in the
 * token and what was expected there.
 */
function stringProblem(text: string, offset: number, length: number): { at: number; expected: string } {
  const token = text.slice(offset, offset + length + 1); // + the character that ended it, if any
  for (let i = 1; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x20) return { at: i, expected: "an escaped control character (\\n, \\t, ...)" };
    if (c !== 0x5c) continue;
    i++;
    if (token[i] === "u") {
      if (!/^[0-9A-Fa-f]{4}$/.test(token.slice(i + 1, i + 5))) return { at: i, expected: "4 hex digits after \\u" };
      i += 4;
    } else if (i >= token.length || !'"\\/bfnrt'.includes(token[i])) {
      return { at: i, expected: 'an escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)' };
    }
  }
  return { at: length, expected: "a closing '\"'" };
}

/**
 * The first syntax error of `text` (with {@linkcode JSON_OPTIONS}) as
 * `expected X, got Y` at a UTF-16 offset, if `jsonc-parser` finds one.
 *
 * @example
 * ```ts
 * firstSyntaxError('{"a": 1 "b": 2}');
 * // { offset: 8, message: 'expected "," or "}" after the property value, got "\\""' }
 * ```
 */
export function firstSyntaxError(text: string): { offset: number; message: string } | undefined {
  // What came last, and in which container: that says what may come next.
  type Last = "start" | "open-object" | "open-array" | "key" | "colon" | "comma" | "value";
  let last: Last = "start";
  const containers: ("object" | "array")[] = [];
  // jsonc-parser reports a missing "}" or "]" (at the end of the file) after the container's end event.
  let ended: { last: Last; inside: "object" | "array" } | undefined;
  const end = () => {
    ended = { last, inside: containers.pop()! };
    last = "value";
  };
  const expected = (found: string, before = last, inside = containers[containers.length - 1]): string => {
    switch (before) {
      case "start":
      case "colon":
      case "open-array":
        return "a JSON value";
      case "open-object":
        return "a property name in double quotes";
      case "key":
        return '":" after the property name';
      case "comma":
        if (inside === "object") {
          return found === "}"
            ? "another property (trailing commas are not allowed)"
            : "a property name in double quotes";
        }
        return found === "]" ? "another item (trailing commas are not allowed)" : "a JSON value";
      case "value":
        return inside === "object"
          ? '"," or "}" after the property value'
          : inside === "array"
          ? '"," or "]" after the array item'
          : "the end of the file after the JSON value";
    }
  };
  let first: { offset: number; message: string } | undefined;
  const fail = (offset: number, what: string, got = foundAt(text, offset)) => {
    first ??= { offset, message: `expected ${what}, got ${got}` };
  };
  visit(text, {
    onObjectBegin: () => void (containers.push("object"), last = "open-object"),
    onObjectProperty: () => void (last = "key"),
    onObjectEnd: end,
    onArrayBegin: () => void (containers.push("array"), last = "open-array"),
    onArrayEnd: end,
    onLiteralValue: () => void (last = "value"),
    onSeparator: (separator) => void (last = separator === ":" ? "colon" : "comma"),
    onError: (error, offset, length) => {
      if (first !== undefined) return;
      switch (printParseErrorCode(error)) {
        case "InvalidCommentToken":
        case "UnexpectedEndOfComment":
          return fail(offset, expected(text[offset]), "a comment (JSON has no comments)");
        case "UnexpectedEndOfString":
        case "InvalidCharacter":
        case "InvalidEscapeCharacter":
        case "InvalidUnicode": {
          const problem = stringProblem(text, offset, length);
          return fail(offset + problem.at, problem.expected);
        }
        case "CloseBraceExpected":
        case "CloseBracketExpected":
          return fail(offset, expected(text[offset], ended?.last, ended?.inside));
        case "UnexpectedEndOfNumber":
        case "InvalidNumberFormat":
          return fail(offset, "a complete number such as 1, -1.5 or 1e3");
        default:
          return fail(offset, expected(text[offset]));
      }
    },
  }, JSON_OPTIONS);
  return first;
}
