// The editor experience (issue 13), checked with vscode-json-languageservice,
// the library VS Code's JSON support is built on, loading config.schema.json
// as committed: completion inside a listener lists its keys with their
// descriptions, a bad duration or address reads as a sentence rather than
// a regular expression, and a port past 65535 is flagged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ClientCapabilities, getLanguageService, type JSONDocument, TextDocument } from "vscode-json-languageservice";

const SCHEMA_FILE = new URL("../../config.schema.json", import.meta.url);

/** A language service that knows config.schema.json and fetches nothing. */
async function service() {
  const schema = JSON.parse(await readFile(SCHEMA_FILE, "utf8"));
  const ls = getLanguageService({
    schemaRequestService: (uri) => Promise.reject(new Error(`the test fetches nothing, asked for ${uri}`)),
    // What VS Code announces: Markdown documentation in completions and hovers.
    clientCapabilities: ClientCapabilities.LATEST,
  });
  ls.configure({ validate: true, schemas: [{ uri: schema.$id, fileMatch: ["proxy.json"], schema }] });
  return ls;
}

/** Open `text` as file:///work/proxy.json. */
function open(ls: Awaited<ReturnType<typeof service>>, text: string): [TextDocument, JSONDocument] {
  const doc = TextDocument.create("file:///work/proxy.json", "json", 1, text);
  return [doc, ls.parseJSONDocument(doc)];
}

/** The diagnostics of `config`, as [line of the value, message]. */
async function problems(config: unknown): Promise<{ text: string; messages: string[] }> {
  const ls = await service();
  const text = JSON.stringify(config, null, 2);
  const [doc, json] = open(ls, text);
  const diagnostics = await ls.doValidation(doc, json);
  return { text, messages: diagnostics.map((d) => `${doc.getText(d.range)}: ${d.message}`) };
}

test("completion inside a proxy listener lists its keys with their descriptions", async () => {
  const ls = await service();
  const text = '{\n  "proxy_listeners": [\n    {  }\n  ]\n}\n';
  const [doc, json] = open(ls, text);
  const list = await ls.doComplete(doc, doc.positionAt(text.indexOf("{  }") + 2), json);
  const items = new Map(list!.items.map((item) => [item.label, item]));
  for (const key of ["listen", "timeout", "require_auth", "use_tls", "tcp_keepalive", "use_splice"]) {
    assert.ok(items.has(key), `completion offers ${key}: ${[...items.keys()].join(", ")}`);
  }
  const doc_ = (label: string) => {
    const d = items.get(label)!.documentation;
    return typeof d === "string" ? d : d?.value ?? "";
  };
  assert.match(doc_("listen"), /Address to accept SOCKS5 clients on/);
  // Descriptions with examples come as Markdown, the examples in code spans.
  assert.match(doc_("timeout"), /Bound on each step of the SOCKS5 handshake/);
  assert.match(doc_("timeout"), /`"60s"`/);
});

test("a bad duration gets the human message, not the regular expression", async () => {
  const { messages } = await problems({ proxy_listeners: [{ listen: "127.0.0.1:1080", timeout: "sixty" }] });
  assert.deepEqual(messages, [
    '"sixty": Expected a duration such as "60s", "60 seconds", "5m", "1h 30m" or "100ms" (a number and a unit: ' +
    "ms, s, m, h, d, w), or a number of seconds.",
  ]);
  for (const message of messages) assert.doesNotMatch(message, /\^|\\s|\(\?:/);
});

test("durations as numbers of seconds are accepted; a negative one is flagged", async () => {
  assert.deepEqual((await problems({ proxy_listeners: [{ listen: "127.0.0.1:1080", timeout: 30 }] })).messages, []);
  const { messages } = await problems({ proxy_listeners: [{ listen: "127.0.0.1:1080", timeout: -1 }] });
  assert.equal(messages.length, 1);
  assert.match(messages[0], /^-1: .*minimum of 0/);
});

test("port 99999 and a bad IPv4 part are flagged with the address message; host names pass", async () => {
  const message = 'Expected "IP:PORT" or "HOST:PORT" with a port 0-65535, such as "0.0.0.0:1080", "[::1]:1080" or ' +
    '"localhost:1080" (IPv6 in brackets; a host name is resolved at start and every address bound).';
  const bad = await problems({
    proxy_listeners: [{ listen: "1.2.3.4:99999" }, { listen: "1.2.3.400:1080" }, { listen: "[::1]:65536" }],
  });
  assert.deepEqual(bad.messages, [
    `"1.2.3.4:99999": ${message}`,
    `"1.2.3.400:1080": ${message}`,
    `"[::1]:65536": ${message}`,
  ]);
  const good = await problems({
    proxy_listeners: [
      { listen: "1.2.3.4:65535" },
      { listen: "0.0.0.0:0" },
      { listen: "[::]:1080" },
      { listen: "localhost:1080" },
    ],
  });
  assert.deepEqual(good.messages, []);
  const http = await problems({
    proxy_listeners: [{ listen: "127.0.0.1:1080" }],
    http_listeners: [{ listen: "127.0.0.1:70000" }],
  });
  assert.deepEqual(http.messages, [
    '"127.0.0.1:70000": Expected "IP:PORT" with an IP address and a port 0-65535, such as "0.0.0.0:1080", ' +
    '"127.0.0.1:1080" or "[::1]:1080" (IPv6 in brackets).',
  ]);
});

test("CIDRs, thresholds and upstream addresses get human messages too", async () => {
  const { messages } = await problems({
    proxy_listeners: [{ listen: "127.0.0.1:1080", allowed_clients: ["10.0.0.0/8", "ten"] }],
    sources: {
      s: {
        socks5_proxy_server: "proxy.example.com:0",
        suspend_when_proxy_unhealthy: { trigger: { Threshold: "three per minute" }, duration: "1m" },
      },
    },
  });
  assert.deepEqual(messages, [
    '"ten": Expected an IP address or CIDR block, IPv4 or IPv6, such as "10.0.0.0/8", "127.0.0.1", "::1" or ' +
    '"2001:db8::/32".',
    '"proxy.example.com:0": Expected "HOST:PORT" with a port 1-65535, such as "proxy.example.com:1080", ' +
    '"10.0.0.5:1080" or "[2001:db8::5]:1080".',
    '"three per minute": Expected "N/period": a number of failures, "/", then an optional count and a unit s, m, h ' +
    'or d, such as "3/5m" (3 in 5 minutes), "10/hour" or "1/s".',
  ]);
});

test("the schema's $id is an https URL, and a relative $schema still validates", async () => {
  const schema = JSON.parse(await readFile(SCHEMA_FILE, "utf8"));
  assert.equal(schema.$id, "https://proxy-server.dev/schema/config.schema.json");
  // An editor associates the file through its own "$schema": "./config.schema.json".
  const ls = getLanguageService({
    schemaRequestService: (uri) =>
      uri === "file:///work/config.schema.json"
        ? Promise.resolve(JSON.stringify(schema))
        : Promise.reject(new Error(`unexpected fetch of ${uri}`)),
    workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).href },
  });
  ls.configure({ validate: true });
  const text = JSON.stringify({ $schema: "./config.schema.json", proxy_listeners: [{ listen: "1.2.3.4:99999" }] });
  const [doc, json] = open(ls, text);
  const diagnostics = await ls.doValidation(doc, json);
  assert.deepEqual(diagnostics.map((d) => doc.getText(d.range)), ['"1.2.3.4:99999"']);
});
