/**
 * The JSON Schema of `proxy.json`, generated from {@linkcode ConfigSchema}
 * (never written by hand). `scripts/gen-schema.ts` writes it to
 * `config.schema.json`.
 *
 * @module
 */

import { toJsonSchema } from "@valibot/to-json-schema";
import { ConfigSchema } from "./schema/index.ts";

/** The `$id` of the published schema. */
export const CONFIG_SCHEMA_ID = "urn:proxy-server:config";

/**
 * The JSON Schema (draft 2020-12) of the config file: the INPUT side of
 * {@linkcode ConfigSchema} (durations and addresses are strings with a
 * `pattern`; transforms and cross-field checks such as unique `listen`
 * addresses are not expressible and are left out), strict objects as
 * `additionalProperties: false`, defaults as `default`, each key's
 * documentation as `description`.
 *
 * @returns a fresh JSON-serialisable object with `$schema`, `$id` and `title`
 */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, ...body } = toJsonSchema(ConfigSchema, {
    target: "draft-2020-12",
    typeMode: "input",
    // Runtime-only checks (byte lengths, duration bounds, exact address
    // grammar, cross-field rules); the JSON Schema keeps the pattern parts.
    ignoreActions: ["check", "raw_check"],
  });
  return {
    $schema,
    $id: CONFIG_SCHEMA_ID,
    title: "proxy-server configuration",
    description: body.description,
    ...body,
  };
}
