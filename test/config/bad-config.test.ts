// Rejected configs: each problem names the file, the exact JSON path and what
// was expected versus what was found.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/index.ts";
import { jsonPathOf, parseJsonPath } from "../../src/config/errors.ts";
import { runCli, writeTempConfig } from "../helpers/proxy-process.ts";
import { fakeIo, problemsOf, problemsOfValue, withListener } from "./helpers.ts";

test("a file that is not JSON is reported at $ with its line and column", async () => {
  const text = '{\n  "proxy_listeners": [\n    { "listen": "127.0.0.1:1080", }\n  ]\n}\n';
  const problems = await problemsOf(loadConfig("/etc/proxy.json", fakeIo({ "/etc/proxy.json": text })));
  assert.equal(problems.length, 1);
  assert.equal(problems[0].file, "/etc/proxy.json");
  assert.equal(problems[0].path, "$");
  assert.match(problems[0].message, /^not valid JSON at line 3, column 35: expected another property/);
});

test("JSON errors name what was found: a missing comma, an unquoted key, the end of the file", async () => {
  const cases: [string, RegExp][] = [
    ['{"a": 1 "b": 2}', /line 1, column 9: expected "," or "}" after the property value, got "\\""/],
    ["{proxy_listeners: []}", /line 1, column 2: expected a property name in double quotes, got "proxy_listeners"/],
    ['{"a": [1, 2', /line 1, column 12: expected "," or "]" after the array item, got the end of the file/],
    ["", /line 1, column 1: expected a JSON value, got the end of the file/],
  ];
  for (const [text, expected] of cases) {
    const problems = await problemsOf(loadConfig("p.json", fakeIo({ "p.json": text })));
    assert.equal(problems[0].path, "$");
    assert.match(problems[0].message, expected, text);
  }
});

test("an unreadable file is reported at $ with the reason", async () => {
  const problems = await problemsOf(loadConfig("missing.json", fakeIo()));
  assert.deepEqual(problems.map((p) => [p.file, p.path]), [["missing.json", "$"]]);
  assert.match(problems[0].message, /^cannot read the file: ENOENT/);
});

test("a wrong type names the key and both types", async () => {
  const problems = await problemsOfValue(withListener({ require_auth: "yes" }));
  assert.deepEqual(problems, [{
    file: "test.json",
    path: "$.proxy_listeners[0].require_auth",
    message: 'expected true or false, got "yes"',
  }]);
  const top = await problemsOfValue([]);
  assert.deepEqual(top.map((p) => [p.path, p.message]), [
    ["$", "expected the proxy-server configuration (a JSON object), got []"],
  ]);
  const listeners = await problemsOfValue({ proxy_listeners: { listen: "127.0.0.1:1080" } });
  assert.equal(listeners[0].path, "$.proxy_listeners");
  assert.match(listeners[0].message, /^expected an array, got \{"listen":"127\.0\.0\.1:1080"\}$/);
});

test("an unknown top-level key is an error at its path, listing the allowed keys", async () => {
  const problems = await problemsOfValue({ ...withListener({}), listeners: [] });
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, "$.listeners");
  assert.match(problems[0].message, /^unknown key "listeners"; expected one of: .*proxy_listeners/);
});

test("an unknown key inside a listener is an error at its path", async () => {
  const problems = await problemsOfValue(withListener({ port: 1080 }));
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, "$.proxy_listeners[0].port");
  assert.match(problems[0].message, /^unknown key "port"; expected one of: listen, timeout, /);
});

test("missing required keys and an empty listener list are reported", async () => {
  assert.deepEqual((await problemsOfValue({})).map((p) => [p.path, p.message]), [
    ["$.proxy_listeners", 'missing required key "proxy_listeners"'],
  ]);
  assert.deepEqual((await problemsOfValue({ proxy_listeners: [{}] })).map((p) => [p.path, p.message]), [
    ["$.proxy_listeners[0].listen", 'missing required key "listen"'],
  ]);
  assert.deepEqual((await problemsOfValue({ proxy_listeners: [] })).map((p) => [p.path, p.message]), [
    ["$.proxy_listeners", "expected at least one proxy listener, got an empty array"],
  ]);
});

test("a bad duration says what a duration looks like", async () => {
  const problems = await problemsOfValue(withListener({ timeout: "sixty" }));
  assert.deepEqual(problems, [{
    file: "test.json",
    path: "$.proxy_listeners[0].timeout",
    message: 'expected a duration such as "60s", "5m" or "1h 30m", got "sixty"',
  }]);
  for (const bad of ["-5s", "60", "5 parsecs", "", true, -5, 2147484]) {
    const [problem] = await problemsOfValue(withListener({ timeout: bad }));
    assert.equal(problem.path, "$.proxy_listeners[0].timeout");
    assert.match(problem.message, /^expected a duration (such as "60s"|of 0 seconds or more|of at most)/, String(bad));
  }
  const [tooLong] = await problemsOfValue({ ...withListener({}), shutdown_grace_period: "30d" });
  assert.equal(tooLong.path, "$.shutdown_grace_period");
  assert.match(tooLong.message, /^expected a duration of at most 2147483 seconds .*, got "30d"$/);
});

test("bad listen addresses: missing port, port 70000, bad host name, unbracketed IPv6", async () => {
  const cases: [string, string][] = [
    ["127.0.0.1", 'missing ":PORT"'],
    ["127.0.0.1:", "missing the port number"],
    ["127.0.0.1:70000", "port 70000 is above 65535"],
    ["local host:1080", '"local host" is neither an IP address nor a host name'],
    ["::1:1080", 'an IPv6 address must be written in brackets, as in "[::1]:1080"'],
    ["[::1]", 'missing ":PORT"'],
    ["[::g]:1080", '"::g" is not an IPv6 address'],
    ["300.0.0.1:1080", '"300.0.0.1" is not an IPv4 address'],
  ];
  for (const [listen, reason] of cases) {
    const problems = await problemsOfValue(withListener({ listen }));
    assert.deepEqual(problems, [{
      file: "test.json",
      path: "$.proxy_listeners[0].listen",
      message: `expected an address "IP:PORT" such as "0.0.0.0:1080" or "[::1]:1080", got ${
        JSON.stringify(listen)
      } (${reason})`,
    }], listen);
  }
});

test("a duplicate listen address is reported at the duplicate", async () => {
  const problems = await problemsOfValue({
    proxy_listeners: [
      { listen: "127.0.0.1:1080" },
      { listen: "[::1]:1080" },
      { listen: "127.0.0.1:1080" },
      { listen: "[0:0::1]:1080" },
    ],
  });
  assert.deepEqual(problems.map((p) => [p.path, p.message]), [
    [
      "$.proxy_listeners[2].listen",
      'duplicate listen address "127.0.0.1:1080": already used by the proxy listener at index 0',
    ],
    [
      "$.proxy_listeners[3].listen",
      'duplicate listen address "[0:0::1]:1080": already used by the proxy listener at index 1',
    ],
  ]);
});

test("a duplicate listen address is found even when another listener has problems", async () => {
  const problems = await problemsOfValue({
    proxy_listeners: [{ listen: "127.0.0.1:1080" }, { listen: "127.0.0.1:1080", timeout: "soon" }],
  });
  assert.deepEqual(problems.map((p) => p.path), [
    "$.proxy_listeners[1].timeout",
    "$.proxy_listeners[1].listen",
  ]);
});

test("a missing environment variable for a secret is an error at the secret's path", async () => {
  const problems = await problemsOfValue({
    ...withListener({}),
    users: [{ username: "kumod", password: { env: "PROXY_KUMOD_PASSWORD" } }],
  });
  assert.deepEqual(problems, [{
    file: "test.json",
    path: "$.users[0].password",
    message: 'environment variable "PROXY_KUMOD_PASSWORD" is not set',
  }]);
});

test("an unreadable secret file is an error at the secret's path", async () => {
  const problems = await problemsOfValue({
    ...withListener({}),
    users: [{ username: "bob", password: { file: "/run/secrets/bob" } }],
  });
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, "$.users[0].password");
  assert.match(problems[0].message, /^cannot read "\/run\/secrets\/bob": ENOENT/);
});

test("a malformed secret reference says which forms are accepted", async () => {
  const [bad] = await problemsOfValue({ ...withListener({}), users: [{ username: "a", password: { vault: "x" } }] });
  assert.deepEqual([bad.path, bad.message], [
    "$.users[0].password",
    'expected a string, { "env": NAME } or { "file": PATH }, got {"vault":"x"}',
  ]);
  const [name] = await problemsOfValue({ ...withListener({}), users: [{ username: "a", password: { env: "1X" } }] });
  assert.equal(name.path, "$.users[0].password.env");
  assert.match(name.message, /^expected an environment variable name such as "PROXY_PASSWORD", got "1X"$/);
});

test("a bad log filter names the bad directive", async () => {
  const problems = await problemsOfValue({ ...withListener({}), log: { filter: "proxy_server=info,foo=loud" } });
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, "$.log.filter");
  assert.match(problems[0].message, /^expected log directives "LEVEL" or "TARGET=LEVEL" separated by commas/);
  assert.match(problems[0].message, /\(bad directive "foo=loud"\)$/);
  const [format] = await problemsOfValue({ ...withListener({}), log: { format: "xml" } });
  assert.deepEqual([format.path, format.message], ["$.log.format", 'expected "human" or "json", got "xml"']);
});

test("both password and password_hash, or neither, is an error at the user", async () => {
  const hash = "$2b$10$.umPE/6kJRO5OijOTz3jZ.N8tWSo0JG9OJX74/SsZQlPeaFJfH0J2";
  const both = await problemsOfValue({
    ...withListener({}),
    users: [{ username: "a", password: "secret", password_hash: hash }],
  });
  assert.deepEqual(both.map((p) => [p.path, p.message]), [
    ["$.users[0]", 'expected exactly one of "password" or "password_hash", got both'],
  ]);
  const neither = await problemsOfValue({ ...withListener({}), users: [{ username: "a" }] });
  assert.deepEqual(neither.map((p) => [p.path, p.message]), [
    ["$.users[0]", 'expected exactly one of "password" or "password_hash", got neither'],
  ]);
});

test("a malformed password_hash is rejected without echoing it", async () => {
  for (
    const [value, found] of [
      ["hunter2hunter2", "a 14-character string that is not a hash"],
      ["$argon2id$v=19$m=65536$abc", 'a malformed "$argon2id$" hash'],
      ["$2b$10$tooshort", 'a malformed "$2b$" hash'],
    ]
  ) {
    const problems = await problemsOfValue({ ...withListener({}), users: [{ username: "a", password_hash: value }] });
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path, "$.users[0].password_hash");
    assert.match(problems[0].message, /^expected an argon2id hash .* or a bcrypt hash/);
    assert.ok(problems[0].message.endsWith(`got ${found}`), problems[0].message);
    assert.ok(!problems[0].message.includes(value), "the value must not be echoed");
  }
});

test("duplicate usernames are an error at the duplicate", async () => {
  const problems = await problemsOfValue({
    ...withListener({}),
    users: [{ username: "a", password: "x" }, { username: "b", password: "y" }, { username: "a", password: "z" }],
  });
  assert.deepEqual(problems.map((p) => [p.path, p.message]), [
    ["$.users[2].username", 'duplicate username "a": already used by the user at index 0'],
  ]);
});

test("passwords and usernames over 255 bytes (RFC 1929) are rejected without echoing the password", async () => {
  const long = "é".repeat(128); // 128 characters, 256 bytes
  const problems = await problemsOfValue(
    {
      ...withListener({}),
      users: [{ username: long, password: "x" }, { username: "b", password: { env: "PW" } }],
    },
    fakeIo({}, { PW: long }),
  );
  assert.deepEqual(problems.map((p) => [p.path, p.message]), [
    ["$.users[0].username", "expected a username of 1 to 255 bytes (RFC 1929 ULEN), got 256 bytes"],
    ["$.users[1].password", "expected a value of 1 to 255 bytes, got 256 bytes"],
  ]);
  const empty = await problemsOfValue(
    { ...withListener({}), users: [{ username: "b", password: { env: "PW" } }] },
    fakeIo({}, { PW: "" }),
  );
  assert.deepEqual(empty.map((p) => p.path), ["$.users[0].password"]);
});

test("several problems in one file are all reported, one line each in the message, with line and column", async () => {
  const text = JSON.stringify({
    proxy_listeners: [{ listen: "local host:1080", timeout: "sixty", tls: true }],
    users: [{ username: "a", password: { env: "NOPE" } }],
    log: { filter: "chatty" },
    shutdown_grace_period: "-1s",
  });
  const io = fakeIo({ "bad.json": text });
  let error: unknown;
  try {
    await loadConfig("bad.json", io);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError);
  // Each problem is located at the start of its value (the file is one line).
  const column = (value: string) => text.indexOf(value) + 1;
  assert.deepEqual(error.problems.map((p) => [p.path, p.line, p.column]), [
    ["$.proxy_listeners[0].listen", 1, column('"local host:1080"')],
    ["$.proxy_listeners[0].timeout", 1, column('"sixty"')],
    ["$.proxy_listeners[0].tls", 1, column("true")],
    ["$.users[0].password", 1, column('{"env"')],
    ["$.log.filter", 1, column('"chatty"')],
    ["$.shutdown_grace_period", 1, column('"-1s"')],
  ]);
  const lines = error.message.split("\n");
  assert.equal(lines.length, 6);
  assert.equal(
    lines[1],
    `bad.json:1:${
      column('"sixty"')
    }: $.proxy_listeners[0].timeout: expected a duration such as "60s", "5m" or "1h 30m", got "sixty"`,
  );
  const problems = error.problems;
  for (const [i, line] of lines.entries()) {
    const { line: at, column, path, message } = problems[i];
    assert.equal(line, `bad.json:${at}:${column}: ${path}: ${message}`);
  }
});

test("parseConfig reports problems under the name it is given", async () => {
  const problems = await problemsOf(parseConfig(withListener({ listen: "1080" }), "--listen", fakeIo()));
  assert.deepEqual(problems.map((p) => [p.file, p.path]), [["--listen", "$.proxy_listeners[0].listen"]]);
});

// The CLI on files with problems: exit 2, one line per problem,
// FILE:LINE:COLUMN: $.path: message (the position of the value at the path).

/** `proxy-server --validate-config` on a file holding exactly `text`. */
async function validate(text: string): Promise<{ file: string; code: number | null; stderr: string }> {
  const file = writeTempConfig(text);
  const result = await runCli(["--validate-config", file]);
  return { file, code: result.code, stderr: result.stderr };
}

const LISTENER = '  "proxy_listeners": [{ "listen": "127.0.0.1:1080" }],\n';

test("a key repeated in an object is exit 2 at the repeat, naming both places", async () => {
  const { file, code, stderr } = await validate(
    `{\n${LISTENER}  "log": { "format": "json" },\n  "log": { "format": "human" }\n}\n`,
  );
  assert.equal(code, 2, stderr);
  assert.equal(
    stderr,
    `${file}:4:3: $.log: duplicate key "log": it appears twice in this object (first at line 3, column 3)\n`,
  );
});

test("repeated keys are found at any depth, each repeat once, also through \\u escapes", async () => {
  const text = `{\n${LISTENER}  "log": { "format": "json", "format": "json", "\\u0066ormat": "json" }\n}`;
  const problems = await problemsOf(loadConfig("p.json", fakeIo({ "p.json": text })));
  assert.deepEqual(problems.map((p) => [p.path, p.line, p.column, p.message]), [
    ["$.log.format", 3, 30, 'duplicate key "format": it appears 3 times in this object (first at line 3, column 12)'],
    ["$.log.format", 3, 48, 'duplicate key "format": it appears 3 times in this object (first at line 3, column 12)'],
  ]);
});

test("comments are not JSON: exit 2 at the comment", async () => {
  const line = await validate(`// proxy\n{\n${LISTENER.trimEnd().slice(0, -1)}\n}\n`);
  assert.equal(line.code, 2, line.stderr);
  assert.equal(
    line.stderr,
    `${line.file}:1:1: $: not valid JSON at line 1, column 1: expected a JSON value, got a comment (JSON has no comments)\n`,
  );
  const block = await validate(`{\n  /* listeners */\n${LISTENER.trimEnd().slice(0, -1)}\n}\n`);
  assert.equal(block.code, 2, block.stderr);
  assert.equal(
    block.stderr,
    `${block.file}:2:3: $: not valid JSON at line 2, column 3: ` +
      "expected a property name in double quotes, got a comment (JSON has no comments)\n",
  );
});

test("trailing commas are not JSON: exit 2 at the closing bracket or brace", async () => {
  const array = await validate('{ "proxy_listeners": [{ "listen": "127.0.0.1:1080" },] }');
  assert.equal(array.code, 2, array.stderr);
  assert.equal(
    array.stderr,
    `${array.file}:1:54: $: not valid JSON at line 1, column 54: ` +
      'expected another item (trailing commas are not allowed), got "]"\n',
  );
  const object = await validate('{ "proxy_listeners": [{ "listen": "127.0.0.1:1080" }], }');
  assert.equal(object.code, 2, object.stderr);
  assert.equal(
    object.stderr,
    `${object.file}:1:56: $: not valid JSON at line 1, column 56: ` +
      'expected another property (trailing commas are not allowed), got "}"\n',
  );
});

test("schema and cross-reference problems carry the line and column of the value, or of the object missing a key", async () => {
  const { file, code, stderr } = await validate([
    "{",
    '  "proxy_listeners": [',
    '    { "listen": "127.0.0.1:1080", "timeout": "sixty" },',
    '    { "timeout": "1s" }',
    "  ],",
    '  "users": [{ "username": "u", "password": "p", "egress_pool": "nope" }]',
    "}",
  ].join("\n"));
  assert.equal(code, 2, stderr);
  assert.deepEqual(stderr.trimEnd().split("\n"), [
    `${file}:3:46: $.proxy_listeners[0].timeout: expected a duration such as "60s", "5m" or "1h 30m", got "sixty"`,
    `${file}:4:5: $.proxy_listeners[1].listen: missing required key "listen"`,
  ]);
  const refs = await validate(
    `{\n${LISTENER}  "users": [{ "username": "u", "password": "p", "egress_pool": "nope" }]\n}`,
  );
  assert.equal(refs.code, 2, refs.stderr);
  assert.equal(
    refs.stderr,
    `${refs.file}:3:64: $.users[0].egress_pool: unknown egress pool "nope"; no pools are defined\n`,
  );
});

test("problems of a JSON sources file carry positions in that file; a repeated source name is refused", async () => {
  const files = {
    "/c/proxy.json": JSON.stringify({ ...withListener({}), sources_file: "s.json" }),
    "/c/s.json": '{\n  "source": {\n    "ip-1": { "source_address": "10.0.0.300" }\n  }\n}',
  };
  const [bad] = await problemsOf(loadConfig("/c/proxy.json", fakeIo(files)));
  assert.deepEqual([bad.file, bad.path, bad.line, bad.column], ["/c/s.json", '$.source["ip-1"].source_address', 3, 33]);
  const twice = '{ "source": { "ip-1": {}, "ip-1": {} } }';
  const [dup] = await problemsOf(loadConfig("/c/proxy.json", fakeIo({ ...files, "/c/s.json": twice })));
  assert.deepEqual([dup.file, dup.path, dup.line, dup.column], ["/c/s.json", '$.source["ip-1"]', 1, 27]);
  assert.match(dup.message, /^duplicate key "ip-1": it appears twice in this object \(first at line 1, column 15\)$/);
});

test("JSON syntax errors inside strings and numbers point at the offending character", async () => {
  const cases: [string, string][] = [
    [
      '{"a": "x\\q"}',
      'line 1, column 10: expected an escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX), got "q"',
    ],
    ['{"a": "\\u12"}', 'line 1, column 9: expected 4 hex digits after \\u, got "u12"'],
    ['{"a": "x\ny"}', 'line 1, column 9: expected an escaped control character (\\n, \\t, ...), got "\\n"'],
    ['{"a": "abc', `line 1, column 11: expected a closing '"', got the end of the file`],
    ['{"a": 1.}', 'line 1, column 7: expected a complete number such as 1, -1.5 or 1e3, got "1."'],
    ['{"a":\u00a01}', 'line 1, column 6: expected a JSON value, got "\\u00a0"'],
    ['{"a": [1, 2', 'line 1, column 12: expected "," or "]" after the array item, got the end of the file'],
    ["{} x", 'line 1, column 4: expected the end of the file after the JSON value, got "x"'],
  ];
  for (const [text, expected] of cases) {
    const [problem] = await problemsOf(loadConfig("p.json", fakeIo({ "p.json": text })));
    assert.equal(problem.message, `not valid JSON at ${expected}`, text);
  }
});

test("JSON paths read back into the keys and indexes they were written from", () => {
  for (const segments of [[], ["proxy_listeners", 0, "timeout"], ["sources", "ip-1", "a b", 'q"uote', "x\\y", 12]]) {
    const path = jsonPathOf(segments);
    assert.deepEqual(parseJsonPath(path), segments, path);
  }
  assert.equal(jsonPathOf(["sources", "ip-1", "entries", 0]), '$.sources["ip-1"].entries[0]');
  for (const bad of ["", "proxy_listeners", "$.", "$[x]", '$["open']) assert.equal(parseJsonPath(bad), undefined, bad);
});
