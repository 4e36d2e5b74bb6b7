/**
 * The JSON Schema of `proxy.json`, generated from {@linkcode ConfigSchema}
 * (never written by hand). `scripts/gen-schema.ts` writes it to
 * `config.schema.json`.
 *
 * @module
 */

import { toJsonSchema } from "@valibot/to-json-schema";
import { CIDR_PATTERN, DESTINATION_PATTERN, PORT_RANGE_PATTERN } from "./schema/access.ts";
import { ConfigSchema } from "./schema/index.ts";

/**
 * The `$id` of the published schema: a stable https URL (the project's
 * chosen address for it), so tools that resolve `$id`s or cache schemas by
 * URL have one; a config's relative `"$schema": "./config.schema.json"`
 * keeps working, since editors load the file it names.
 */
export const CONFIG_SCHEMA_ID = "https://proxy-server.dev/schema/config.schema.json";

/**
 * Keywords the generated schema carries for editors, beyond JSON Schema's
 * own: VS Code's `patternErrorMessage` (shown in place of a regular
 * expression), `errorMessage` and `markdownDescription`. Validators ignore
 * unknown keywords unless strict; a strict ajv needs
 * `ajv.addVocabulary(EDITOR_KEYWORDS)`.
 */
export const EDITOR_KEYWORDS = ["patternErrorMessage", "errorMessage", "markdownDescription"] as const;

/**
 * Editor messages for patterns declared in schema files that do not carry
 * their own `patternErrorMessage` (the access-control and HTTP listener
 * grammars), keyed by the pattern text.
 */
const PATTERN_MESSAGES: Record<string, string> = {
  [CIDR_PATTERN]: 'Expected an IP address or CIDR block, IPv4 or IPv6, such as "10.0.0.0/8", "127.0.0.1", ' +
    '"::1" or "2001:db8::/32".',
  [DESTINATION_PATTERN]: 'Expected a CIDR block or IP address ("10.0.0.0/8", "2001:db8::1") or a domain name ' +
    '("example.com", or ".example.com" for it and every name below it).',
  [PORT_RANGE_PATTERN]: 'Expected a port 0-65535 or a range such as "1024-65535".',
};

/** Give every node with a known `pattern` and no message its {@linkcode PATTERN_MESSAGES} entry. */
function addPatternMessages(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(addPatternMessages);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  for (const value of Object.values(schema)) addPatternMessages(value);
  const message = typeof schema.pattern === "string" ? PATTERN_MESSAGES[schema.pattern] : undefined;
  if (message !== undefined && schema.patternErrorMessage === undefined) schema.patternErrorMessage = message;
}

/** Keywords that apply to one JSON type only (the rest of the JSON Schema vocabulary is left alone). */
const TYPE_KEYWORDS: Record<string, readonly string[]> = {
  string: ["pattern", "patternErrorMessage", "minLength", "maxLength", "format"],
  number: ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"],
  integer: ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"],
};

/**
 * Fold an `anyOf` of plain alternatives of different types (a duration's
 * number | string) into one node with `type: [...]`: each type keyword
 * applies to its own type only, so the meaning is the same, and editors
 * report the failing keyword of the value's own type (VS Code picks the
 * first `anyOf` branch on a tie, so a bad duration string would read
 * "Incorrect type. Expected number").
 */
function foldTypeAlternatives(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(foldTypeAlternatives);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  for (const value of Object.values(schema)) foldTypeAlternatives(value);
  const alts = schema.anyOf;
  if (!Array.isArray(alts) || alts.length < 2 || "type" in schema) return;
  const types = alts.map((alt) => (alt as { type?: unknown }).type);
  if (types.some((type) => typeof type !== "string" || !(type in TYPE_KEYWORDS))) return;
  if (new Set(types).size !== types.length) return;
  const plain = alts.every((alt, i) =>
    Object.keys(alt as object).every((key) => key === "type" || TYPE_KEYWORDS[types[i] as string].includes(key))
  );
  if (!plain) return;
  delete schema.anyOf;
  schema.type = types;
  for (const alt of alts) Object.assign(schema, { ...(alt as object), type: types });
}

/** `"text"` spans of a description in Markdown code: `"60s"` becomes `` `"60s"` ``. */
function markdown(description: string): string {
  return description.replace(/"[^"\n]*"/g, (quoted) => `\`${quoted}\``);
}

/**
 * Add `markdownDescription` (VS Code renders it in place of `description`)
 * to every node whose description quotes examples, or that lists
 * `examples`: quoted values become code spans and the examples follow.
 */
function addMarkdown(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(addMarkdown);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  for (const value of Object.values(schema)) addMarkdown(value);
  if (typeof schema.description !== "string") return;
  const examples = Array.isArray(schema.examples) ? schema.examples : [];
  if (examples.length === 0 && !schema.description.includes('"')) return;
  const list = examples.map((example) => `\`${JSON.stringify(example)}\``).join(", ");
  schema.markdownDescription = markdown(schema.description) + (list === "" ? "" : `\n\nExamples: ${list}.`);
}

/**
 * The JSON Schema (draft 2020-12) of the config file: the INPUT side of
 * {@linkcode ConfigSchema} (durations and addresses are strings with a
 * `pattern`; transforms and cross-field checks such as unique `listen`
 * addresses are not expressible and are left out), strict objects as
 * `additionalProperties: false`, defaults as `default`, each key's
 * documentation as `description` (and as `markdownDescription` where it
 * has examples), and for editors the messages VS Code shows next to
 * patterns (`patternErrorMessage`; see {@linkcode EDITOR_KEYWORDS}).
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
  const schema = {
    $schema,
    $id: CONFIG_SCHEMA_ID,
    title: "proxy-server configuration",
    description: body.description,
    ...body,
  };
  foldTypeAlternatives(schema.properties);
  addPatternMessages(schema.properties);
  addMarkdown(schema.properties);
  return schema;
}
