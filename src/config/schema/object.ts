/**
 * Strict JSON objects with readable problems. Every object in `proxy.json` is
 * strict (unknown keys are errors, as in KumoMTA, whose config structs use
 * `deny_unknown_fields`); this helper wraps `v.strictObject` so the three
 * ways an object can be wrong each get a clear message, and the JSON Schema
 * gets `additionalProperties: false`.
 *
 * @module
 */

import * as v from "valibot";
import { got } from "./messages.ts";

/**
 * `v.strictObject(entries)` whose problems read:
 * - not an object: `expected <what> (a JSON object), got 5`
 * - missing key (reported at the key's path): `missing required key "listen"`
 * - unknown key (reported at the key's path):
 *   `unknown key "lisen"; expected one of: listen, timeout, ...`
 *
 * Note that valibot reports only the first unknown key of each object.
 *
 * @param entries the object's keys and their schemas
 * @param what what the object is, for the type error ("a proxy listener")
 */
export function strictObject<const TEntries extends v.ObjectEntries>(
  entries: TEntries,
  what: string,
): v.StrictObjectSchema<TEntries, (issue: v.StrictObjectIssue) => string> {
  const allowed = Object.keys(entries).join(", ");
  const base = v.strictObject(entries, (issue: v.StrictObjectIssue) => {
    const key = issue.path?.[issue.path.length - 1]?.key;
    if (issue.expected === "never") {
      return `unknown key ${JSON.stringify(key)}; expected one of: ${allowed}`;
    }
    if (issue.expected === `"${String(key)}"` && issue.input === undefined) {
      return `missing required key ${JSON.stringify(key)}`;
    }
    return `expected ${what} (a JSON object), got ${got(issue.input)}`;
  });
  // valibot's object schemas accept arrays (typeof [] === "object"); a JSON
  // array where an object belongs is a type error here.
  return v._standardSchema({
    ...base,
    "~run"(dataset, config) {
      if (Array.isArray(dataset.value)) {
        // Same issue valibot raises for a non-object: kind "schema", our message.
        v._addIssue(this as never, "type", dataset, config);
        return dataset as unknown as ReturnType<typeof base["~run"]>;
      }
      return base["~run"](dataset, config);
    },
  });
}

/**
 * The issue path of an object key inside an array item, for cross-field checks
 * (`v.rawCheck`) that report at `[index].key`, e.g. a duplicate `listen`.
 *
 * @param array the array being checked
 * @param index the item's index
 * @param key the key inside the item
 */
export function itemKeyPath(
  array: unknown[],
  index: number,
  key: string,
): [v.ArrayPathItem, v.ObjectPathItem] {
  const item = array[index] as Record<string, unknown>;
  return [
    { type: "array", origin: "value", input: array, key: index, value: item },
    { type: "object", origin: "value", input: item, key, value: item[key] },
  ];
}
