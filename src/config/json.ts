/**
 * JSON parsing with a located error. `JSON.parse` error messages differ per
 * engine (V8 in Deno gives a position, JavaScriptCore in Bun does not), so
 * when it fails this module scans the text itself to report the same
 * `line L, column C: expected X, got Y` on both runtimes.
 *
 * @module
 */

/** Outcome of {@linkcode parseJson}. */
export type JsonParseResult =
  | { ok: true; value: unknown }
  | { ok: false; line: number; column: number; message: string };

/** The first syntax error of a JSON text. */
interface SyntaxProblem {
  /** UTF-16 offset of the offending character. */
  offset: number;
  /** What was expected there. */
  expected: string;
}

/** Thrown inside the scanner to unwind to {@linkcode findSyntaxError}. */
class Stop {
  constructor(readonly problem: SyntaxProblem) {}
}

/** Deepest nesting the scanner follows before giving up. */
const MAX_DEPTH = 1000;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Locate the first JSON syntax error of `text` (RFC 8259), if any. */
function findSyntaxError(text: string): SyntaxProblem | undefined {
  let i = 0;
  const fail = (expected: string): never => {
    throw new Stop({ offset: i, expected });
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const string = () => {
    i++; // opening quote
    while (true) {
      if (i >= text.length) fail('a closing \'"\'');
      const c = text.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) fail("an escaped control character (\\n, \\t, ...)");
      if (c === 0x5c) {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 1, i + 5))) fail("4 hex digits after \\u");
          i += 5;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i])) i++;
        else fail('an escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)');
      } else i++;
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail(`at most ${MAX_DEPTH} levels of nesting`);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      while (true) {
        ws();
        if (text[i] !== '"') fail('a property name in double quotes');
        string();
        ws();
        if (text[i] !== ":") fail('":" after the property name');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "}") fail("another property (trailing commas are not allowed)");
          continue;
        }
        if (text[i] === "}") return void i++;
        fail('"," or "}" after the property value');
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      while (true) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "]") fail("another item (trailing commas are not allowed)");
          continue;
        }
        if (text[i] === "]") return void i++;
        fail('"," or "]" after the array item');
      }
    } else if (c === '"') string();
    else if (c === "t" || c === "f" || c === "n") {
      const word = c === "t" ? "true" : c === "f" ? "false" : "null";
      if (text.startsWith(word, i)) i += word.length;
      else fail("a JSON value");
    } else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail("a JSON value");
      i = NUMBER.lastIndex;
    }
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail("the end of the file after the JSON value");
    return undefined;
  } catch (error) {
    if (error instanceof Stop) return error.problem;
    throw error;
  }
}

/** Describe the text found at `offset`: `"x"`, or `the end of the file`. */
function foundAt(text: string, offset: number): string {
  if (offset >= text.length) return "the end of the file";
  const rest = text.slice(offset).match(/^(?:[A-Za-z0-9_$.+-]+|[^])/u)?.[0] ?? text[offset];
  return JSON.stringify(rest.length > 20 ? rest.slice(0, 20) : rest);
}

/**
 * Parse a JSON document (a leading UTF-8 BOM is ignored). On a syntax error,
 * report its 1-based line and column and a message such as
 * `expected "," or "}" after the property value, got "\"timeout\""`.
 *
 * @example
 * ```ts
 * parseJson('{"a": 1,}');
 * // { ok: false, line: 1, column: 9,
 * //   message: 'expected another property (trailing commas are not allowed), got "}"' }
 * ```
 */
export function parseJson(text: string): JsonParseResult {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (error) {
    const problem = findSyntaxError(body);
    const offset = problem?.offset ?? 0;
    const before = body.slice(0, offset).split("\n");
    const line = before.length;
    const column = before[before.length - 1].length + 1;
    const message = problem
      ? `expected ${problem.expected}, got ${foundAt(body, offset)}`
      : String((error as Error).message);
    return { ok: false, line, column, message };
  }
}
