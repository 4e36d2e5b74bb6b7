// Checking a config without its secrets (`resolveSecrets: false`, what
// `--validate-config` does by default): references are checked for form
// only and nothing is read, while the schema and every cross-reference are
// still checked; the sources_file, being config, is read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { generateKeyPairSync } from "node:crypto";
import { loadConfig, loadConfigText, parseConfig } from "../../src/config/index.ts";
import { fakeIo, problemsOf, withListener } from "./helpers.ts";

const fixtures = new URL("../runtime/fixtures/", import.meta.url).pathname;
const example = (name: string) => new URL(`../../examples/${name}`, import.meta.url).pathname;

test("the examples with env and file secrets validate with no variable set and no file read", async () => {
  for (const name of ["users.json", "egress.json", "access.json"]) {
    const io = fakeIo();
    const text = await readFile(example(name), "utf8");
    const config = await loadConfigText(text, name, io, { resolveSecrets: false });
    assert.ok(config.proxy_listeners.length > 0);
    assert.deepEqual(io.reads, [], `${name}: nothing read`);
  }
  // Resolving them, as --config does, still finds the unset variable.
  const problems = await problemsOf(
    loadConfigText(await readFile(example("egress.json"), "utf8"), "egress.json", fakeIo()),
  );
  assert.deepEqual(problems.map((p) => [p.path, p.line, p.message]), [
    ["$.users[0].password", 7, 'environment variable "PROXY_KUMOD_PASSWORD" is not set'],
    ['$.sources["ip-2"].socks5_proxy_password', 19, 'environment variable "PROXY_KUMOD_PASSWORD" is not set'],
  ]);
});

test("without resolving, a reference's form is still checked, and literal secrets fully", async () => {
  const problems = await problemsOf(parseConfig(
    {
      ...withListener({}),
      users: [
        { username: "a", password: { env: "1NOT-A-NAME" } },
        { username: "b", password: { file: "" } },
        { username: "c", password: "x".repeat(256) },
        { username: "d", password: { env: "FINE" }, password_hash: "$2b$12$" + "a".repeat(53) },
      ],
    },
    "t.json",
    fakeIo(),
    { resolveSecrets: false },
  ));
  assert.deepEqual(problems.map((p) => [p.path, p.message]), [
    ["$.users[0].password.env", 'expected an environment variable name such as "PROXY_PASSWORD", got "1NOT-A-NAME"'],
    ["$.users[1].password.file", "expected a file path, got an empty string"],
    ["$.users[2].password", "expected a value of 1 to 255 bytes, got 256 bytes"],
    ["$.users[3]", 'expected exactly one of "password" or "password_hash", got both'],
  ]);
});

test("without resolving, cross-references are checked: unknown pools and sources", async () => {
  const problems = await problemsOf(parseConfig(
    {
      proxy_listeners: [{ listen: "127.0.0.1:1080", egress_pool: "nope" }],
      users: [{ username: "u", password: { env: "UNSET" }, egress_pool: "also-nope" }],
      sources: {
        s: {
          socks5_proxy_server: "10.0.0.1:1080",
          socks5_proxy_username: "u",
          socks5_proxy_password: { file: "/no/such" },
        },
      },
      pools: { p: { entries: [{ name: "s" }, { name: "ghost" }] } },
    },
    "t.json",
    fakeIo(),
    { resolveSecrets: false },
  ));
  assert.deepEqual(problems.map((p) => [p.path, p.message]), [
    ["$.pools.p.entries[1].name", 'pool "p" names source "ghost", which is not defined'],
    ["$.proxy_listeners[0].egress_pool", 'unknown egress pool "nope"; expected one of: p'],
    ["$.users[0].egress_pool", 'unknown egress pool "also-nope"; expected one of: p'],
  ]);
});

test("without resolving, the sources_file is read (config) but its password files are not", async () => {
  const io = fakeIo({
    "/etc/p/sources.toml": '[source."ip-1"]\nsocks5_proxy_server = "10.0.0.1:1080"\n' +
      'socks5_proxy_username = "u"\nsocks5_proxy_password = "/etc/p/ip-1.secret"\n\n[pool."out"."ip-1"]\n',
  });
  const text = JSON.stringify({
    proxy_listeners: [{ listen: "127.0.0.1:1080", egress_pool: "out" }],
    sources_file: "sources.toml",
  });
  const config = await loadConfigText(text, "/etc/p/proxy.json", io, {
    configPath: "/etc/p/proxy.json",
    resolveSecrets: false,
  });
  assert.deepEqual(Object.keys(config.sources), ["ip-1"]);
  assert.deepEqual(io.reads, ["/etc/p/sources.toml"]);
  // Resolving reads the password file, and finds it missing.
  const problems = await problemsOf(loadConfigText(text, "/etc/p/proxy.json", io, { configPath: "/etc/p/proxy.json" }));
  assert.deepEqual(problems.map((p) => [p.file, p.path]), [
    ["/etc/p/sources.toml", '$.source["ip-1"].socks5_proxy_password'],
  ]);
  assert.match(problems[0].message, /cannot read "\/etc\/p\/ip-1\.secret"/);
});

test("without resolving, TLS key files and env keys are not read; inline key_data is still parsed", async () => {
  const io = fakeIo();
  const unread = withListener({
    use_tls: true,
    tls_certificate: "/etc/proxy-server/tls/cert.pem",
    tls_private_key: { env: "TLS_KEY" },
  });
  await parseConfig(unread, "t.json", io, { resolveSecrets: false });
  assert.deepEqual(io.reads, []);
  // A certificate without its key is a problem of form: still found.
  const alone = await problemsOf(parseConfig(
    withListener({ tls_certificate: "/etc/cert.pem" }),
    "t.json",
    io,
    { resolveSecrets: false },
  ));
  assert.deepEqual(alone.map((p) => p.path), ["$.proxy_listeners[0].tls_private_key"]);
  // key_data is the value itself, so it is checked as PEM.
  const broken = await problemsOf(parseConfig(
    withListener({ tls_certificate: { key_data: "-----BEGIN CERTIFICATE-----\nnope\n" }, tls_private_key: "/k.pem" }),
    "t.json",
    io,
    { resolveSecrets: false },
  ));
  assert.deepEqual(broken.map((p) => p.path), ["$.proxy_listeners[0].tls_certificate"]);
});

test("resolving TLS key files compares the pair; a mismatch is found only then", async () => {
  const cert = `${fixtures}localhost-cert.pem`;
  const otherKey = {
    key_data: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }),
  };
  const value = withListener({ use_tls: true, tls_certificate: cert, tls_private_key: otherKey });
  const real = { readTextFile: (p: string) => readFile(p, "utf8"), env: () => undefined };
  await parseConfig(value, "t.json", real, { resolveSecrets: false });
  const problems = await problemsOf(parseConfig(value, "t.json", real));
  assert.deepEqual(problems.map((p) => p.path), ["$.proxy_listeners[0].tls_private_key"]);
  assert.match(problems[0].message, /does not match/);
});

test("loadConfig takes the same option", async () => {
  const io = fakeIo({
    "p.json": JSON.stringify({ ...withListener({}), users: [{ username: "u", password: { env: "X" } }] }),
  });
  await loadConfig("p.json", io, { resolveSecrets: false });
  const problems = await problemsOf(loadConfig("p.json", io));
  assert.deepEqual(problems.map((p) => p.message), ['environment variable "X" is not set']);
});
