/**
 * JSON documents with positions, on `jsonc-parser`. The value itself comes
 * from `JSON.parse` (exact JSON semantics); `jsonc-parser`'s syntax tree
 * gives the line and column of every JSON path, finds keys that appear twice
 * in one object (which `JSON.parse` silently collapses to the last), and,
 * when the text is not JSON, where and why (see `json-syntax.ts`). The file
 * is JSON, not JSONC: comments and trailing commas are errors.
 *
 * @module
 */

import { type Node, parseTree } from "jsonc-parser";
import { type ConfigProblem, jsonPathOf, type JsonPathSegment, parseJsonPath } from "./errors.ts";
import { firstSyntaxError, JSON_OPTIONS } from "./json-syntax.ts";

/** A place in a text: 1-based line, and 1-based column in UTF-16 code units. */
export interface TextPosition {
  /** Line number, from 1. */
  line: number;
  /** Column number, from 1. */
  column: number;
}

/** A key that appears more than once in the same object. */
export interface DuplicateKey {
  /** JSON path of the repeated key's value, e.g. `$.log`. */
  path: string;
  /** The key. */
  key: string;
  /** How many times the key appears in that object. */
  count: number;
  /** Where this (second or later) occurrence of the key is. */
  position: TextPosition;
  /** Where the first occurrence is. */
  first: TextPosition;
}

/** A JSON text that parsed, with what its syntax tree tells. */
export interface JsonDocument {
  /** Always `true`: the text is JSON. */
  ok: true;
  /** The value, as `JSON.parse` gives it. */
  value: unknown;
  /**
   * Where the value at a JSON path (`$.proxy_listeners[0].timeout`, the
   * spelling of `ConfigProblem.path`) starts; for a path that goes past the
   * document (a missing key), where its deepest existing ancestor starts.
   * `undefined` when `path` is not a JSON path.
   */
  locate(path: string): TextPosition | undefined;
  /** Every repeated key, in document order (empty when there is none). */
  duplicateKeys: DuplicateKey[];
}

/** Outcome of {@linkcode parseJson}. */
export type JsonParseResult =
  | JsonDocument
  | { ok: false; line: number; column: number; message: string };

/** The message when the syntax tree cannot be built for the depth of nesting. */
const TOO_DEEP = "the JSON is nested too deeply to be read";

/** 1-based line and column of UTF-16 offsets of `text`. */
function positions(text: string): (offset: number) => TextPosition {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - starts[low] + 1 };
  };
}

/** The value node of `segments` in `root`, or the deepest node on the way. */
function deepest(root: Node, segments: readonly JsonPathSegment[]): Node {
  let node = root;
  for (const segment of segments) {
    let next: Node | undefined;
    if (typeof segment === "number") {
      next = node.type === "array" ? node.children?.[segment] : undefined;
    } else if (node.type === "object") {
      next = node.children?.find((property) => property.children?.[0].value === segment)?.children?.[1];
    }
    if (next === undefined) break;
    node = next;
  }
  return node;
}

/** Every key that repeats in an object of the tree `root`, in document order. */
function duplicates(root: Node, position: (offset: number) => TextPosition): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const walk = (node: Node, segments: JsonPathSegment[]) => {
    if (node.type === "array") node.children?.forEach((item, index) => walk(item, [...segments, index]));
    if (node.type !== "object") return;
    const seen = new Map<string, Node[]>();
    for (const property of node.children ?? []) {
      const key = property.children![0];
      seen.set(key.value, [...(seen.get(key.value) ?? []), key]);
    }
    for (const property of node.children ?? []) {
      const [key, value] = property.children!;
      const all = seen.get(key.value)!;
      if (all.length > 1 && all[0] !== key) {
        found.push({
          path: jsonPathOf([...segments, key.value]),
          key: key.value,
          count: all.length,
          position: position(key.offset),
          first: position(all[0].offset),
        });
      }
      if (value !== undefined) walk(value, [...segments, key.value]);
    }
  };
  walk(root, []);
  return found;
}

/**
 * What keeps a parsed JSON file from being used, as problems of `file`: its
 * syntax error (at `$`, with the line and column also in the message), or
 * each repeated key (at its path). Empty when the document is usable.
 *
 * @example
 * ```ts
 * documentProblems("proxy.json", parseJson('{\n  "log": {},\n  "log": {}\n}'));
 * // [{ file: "proxy.json", path: "$.log", line: 3, column: 3,
 * //    message: 'duplicate key "log": it appears twice in this object (first at line 2, column 3)' }]
 * ```
 */
export function documentProblems(file: string, result: JsonParseResult): ConfigProblem[] {
  if (!result.ok) {
    const { line, column } = result;
    return [{
      file,
      path: "$",
      line,
      column,
      message: `not valid JSON at line ${line}, column ${column}: ${result.message}`,
    }];
  }
  return result.duplicateKeys.map((duplicate) => {
    const times = duplicate.count === 2 ? "twice" : `${duplicate.count} times`;
    const { line, column } = duplicate.first;
    return {
      file,
      path: duplicate.path,
      ...duplicate.position,
      message: `duplicate key ${JSON.stringify(duplicate.key)}: it appears ${times} in this object ` +
        `(first at line ${line}, column ${column})`,
    };
  });
}

/**
 * Parse a JSON document (RFC 8259; a leading UTF-8 BOM is ignored). On a
 * syntax error, report its 1-based line and column and a message such as
 * `expected "," or "}" after the property value, got "\"timeout\""`;
 * comments and trailing commas are syntax errors.
 *
 * @example
 * ```ts
 * parseJson('{"a": 1,}');
 * // { ok: false, line: 1, column: 9,
 * //   message: 'expected another property (trailing commas are not allowed), got "}"' }
 * const doc = parseJson('{\n  "a": [true]\n}');
 * if (doc.ok) doc.locate("$.a[0]"); // { line: 2, column: 9 }
 * ```
 */
export function parseJson(text: string): JsonParseResult {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const position = positions(body);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    let problem: { offset: number; message: string } | undefined;
    try {
      problem = firstSyntaxError(body);
    } catch {
      // jsonc-parser recurses once per nesting level: absurd nesting ends here.
      return { ok: false, line: 1, column: 1, message: TOO_DEEP };
    }
    // jsonc-parser's grammar (comments and trailing commas off) is JSON's, so this is a safety net.
    if (problem === undefined) return { ok: false, line: 1, column: 1, message: String((error as Error).message) };
    return { ok: false, ...position(problem.offset), message: problem.message };
  }
  let root: Node | undefined;
  try {
    root = parseTree(body, [], JSON_OPTIONS);
  } catch {
    return { ok: false, line: 1, column: 1, message: TOO_DEEP };
  }
  return {
    ok: true,
    value,
    locate(path) {
      const segments = parseJsonPath(path);
      return segments === undefined || root === undefined ? undefined : position(deepest(root, segments).offset);
    },
    duplicateKeys: root === undefined ? [] : duplicates(root, position),
  };
}
