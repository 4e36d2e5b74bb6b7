// config.schema.json: generated from the valibot schema and committed; every
// example (and the repository's proxy.json) validates against it with ajv,
// and bad configs are rejected by ajv too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { CONFIG_SCHEMA_ID, configJsonSchema, EDITOR_KEYWORDS, parseConfig } from "../../src/config/index.ts";
import { fakeIo } from "./helpers.ts";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

async function committedSchema(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(root("config.schema.json"), "utf8"));
}

async function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  // The editor keywords (patternErrorMessage, ...) are annotations to ajv.
  ajv.addVocabulary([...EDITOR_KEYWORDS]);
  return ajv.compile(await committedSchema());
}

/** examples/*.json, plus the repository's proxy.json when it exists. */
async function configFiles(): Promise<string[]> {
  const examples = (await readdir(root("examples")))
    .filter((name) => name.endsWith(".json"))
    .map((name) => root(`examples/${name}`));
  const proxy = await readFile(root("proxy.json"), "utf8").then(() => [root("proxy.json")], () => []);
  return [...examples, ...proxy];
}

test("config.schema.json is up to date with the valibot schema (run scripts/gen-schema.ts)", async () => {
  const text = await readFile(root("config.schema.json"), "utf8");
  assert.equal(text, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
});

test("the JSON Schema is draft 2020-12 with an $id, a title and strict objects", () => {
  const schema = configJsonSchema() as {
    $schema: string;
    $id: string;
    title: string;
    additionalProperties: boolean;
    required: string[];
    properties: Record<string, {
      default?: unknown;
      description?: string;
      items?: { additionalProperties: boolean; properties: Record<string, { description?: string }> };
    }>;
  };
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.equal(schema.$id, "https://proxy-server.dev/schema/config.schema.json");
  assert.equal(schema.$id, CONFIG_SCHEMA_ID);
  assert.equal(schema.title, "proxy-server configuration");
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ["proxy_listeners"]);
  const listener = schema.properties.proxy_listeners.items!;
  assert.equal(listener.additionalProperties, false);
  for (const [key, property] of Object.entries(listener.properties)) {
    assert.ok(property.description, `proxy_listeners[].${key} has a description`);
  }
  assert.equal(schema.properties.shutdown_grace_period.default, "10s");
});

test("every example config and proxy.json validate against config.schema.json", async () => {
  const validate = await validator();
  const files = await configFiles();
  assert.ok(files.length >= 4, `found ${files.length} configs`);
  for (const file of files) {
    const ok = validate(JSON.parse(await readFile(file, "utf8")));
    assert.ok(ok, `${file}: ${JSON.stringify(validate.errors)}`);
  }
});

test("every example config and proxy.json also load (secrets from a fake environment and files)", async () => {
  const io = fakeIo(
    { "/etc/proxy-server/bob.password": "bob's password\n" },
    { PROXY_KUMOD_PASSWORD: "kumod's password" },
  );
  for (const file of await configFiles()) {
    const config = await parseConfig(JSON.parse(await readFile(file, "utf8")), file, io);
    assert.ok(config.proxy_listeners.length > 0, file);
  }
});

test("bad configs are rejected by ajv with the same JSON paths", async () => {
  const validate = await validator();
  const hash = "$2b$10$.umPE/6kJRO5OijOTz3jZ.N8tWSo0JG9OJX74/SsZQlPeaFJfH0J2";
  const cases: [unknown, string][] = [
    [{}, ""],
    [{ proxy_listeners: [{ listen: "127.0.0.1:1080" }], listeners: [] }, ""],
    [{ proxy_listeners: [{ listen: "127.0.0.1:1080", port: 1 }] }, "/proxy_listeners/0"],
    [{ proxy_listeners: [{ listen: "127.0.0.1:1080", timeout: "sixty" }] }, "/proxy_listeners/0/timeout"],
    [{ proxy_listeners: [{ listen: "local host:1080" }] }, "/proxy_listeners/0/listen"],
    [{ proxy_listeners: [{ listen: "127.0.0.1:99999" }] }, "/proxy_listeners/0/listen"],
    [{ proxy_listeners: [{ listen: "300.1.2.3:1080" }] }, "/proxy_listeners/0/listen"],
    [{ proxy_listeners: [{ listen: "127.0.0.1:1080", timeout: -1 }] }, "/proxy_listeners/0/timeout"],
    [{ proxy_listeners: [{ listen: "127.0.0.1" }] }, "/proxy_listeners/0/listen"],
    [{ proxy_listeners: [{ listen: "::1:1080" }] }, "/proxy_listeners/0/listen"],
    [{ proxy_listeners: [{ listen: "127.0.0.1:1080", require_auth: "yes" }] }, "/proxy_listeners/0/require_auth"],
    [{ proxy_listeners: [] }, "/proxy_listeners"],
    [{ proxy_listeners: [{ listen: "127.0.0.1:1080" }], log: { filter: "loud" } }, "/log/filter"],
    [{ proxy_listeners: [{ listen: "127.0.0.1:1080" }], sources: { s: { source_adress: "10.0.0.1" } } }, "/sources/s"],
    [
      { proxy_listeners: [{ listen: "127.0.0.1:1080" }], sources: { s: { suspend_when_unplumbed: {} } } },
      "/sources/s/suspend_when_unplumbed",
    ],
    [
      { proxy_listeners: [{ listen: "127.0.0.1:1080" }], pools: { p: { entries: [{ weight: 1 }] } } },
      "/pools/p/entries/0",
    ],
    [
      {
        proxy_listeners: [{ listen: "127.0.0.1:1080" }],
        users: [{ username: "a", password: "x", password_hash: hash }],
      },
      "/users/0",
    ],
    [
      { proxy_listeners: [{ listen: "127.0.0.1:1080" }], users: [{ username: "a", password_hash: "plain" }] },
      "/users/0/password_hash",
    ],
  ];
  for (const [config, path] of cases) {
    assert.equal(validate(config), false, JSON.stringify(config));
    const paths = (validate.errors ?? []).map((e: { instancePath: string }) => e.instancePath);
    assert.ok(paths.includes(path), `${JSON.stringify(config)}: ${JSON.stringify(paths)}`);
  }
});

test("docs/config.md is up to date with the schema and documents every key (run scripts/gen-schema.ts)", async () => {
  const { renderConfigReference } = await import("../../scripts/gen-schema.ts");
  const committed = await readFile(new URL("../../docs/config.md", import.meta.url), "utf8");
  assert.equal(committed, renderConfigReference());
  for (const key of ["proxy_listeners[].listen", "proxy_listeners[].timeout", "users[].password_hash", "log.filter"]) {
    assert.ok(committed.includes(`| \`${key}\` |`), `docs/config.md lacks ${key}`);
  }
});
