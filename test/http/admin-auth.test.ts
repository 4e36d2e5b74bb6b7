// The authenticated admin API: with http_listeners[].auth set, every
// /api/admin/* route needs a Bearer token or a Basic account (literal, env,
// file, argon2id and bcrypt hashes), checked by a running proxy-server and
// sent by the real curl; 401 carries both challenges; metrics, health and
// status stay open to trusted hosts; trusted_hosts still applies.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argon2id, bcrypt } from "hash-wasm";
import { curl } from "../helpers/curl.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";

let proxy: RunningProxy;
let base: string;
let open: string;

const TOKEN = "t0ken-literal";
const ENV_TOKEN = "t0ken-from-env";

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-auth-"));
  const passwordFile = join(dir, "ops.password");
  writeFileSync(passwordFile, "file-password\n");
  const salt = new Uint8Array(16).map((_, i) => i + 1);
  const argon = await argon2id({
    password: "argon-password",
    salt,
    parallelism: 1,
    iterations: 2,
    memorySize: 1024,
    hashLength: 32,
    outputType: "encoded",
  });
  const bcryptHash = await bcrypt({ password: "bcrypt-password", salt, costFactor: 4, outputType: "encoded" });
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [
      {
        listen: "127.0.0.1:0",
        auth: {
          bearer_tokens: [TOKEN, { env: "ADMIN_TOKEN" }],
          basic: [
            { username: "ops", password: { file: passwordFile } },
            { username: "argon", password_hash: argon },
            { username: "bcrypt", password_hash: bcryptHash },
          ],
        },
      },
      // No auth: the admin API is open to trusted hosts, as before.
      { listen: "127.0.0.1:0" },
    ],
    sources: { a: { source_address: "127.0.0.1" } },
    pools: { p: { entries: [{ name: "a" }] } },
  }, { env: { ADMIN_TOKEN: ENV_TOKEN } });
  base = `http://127.0.0.1:${proxy.httpPorts[0]}`;
  open = `http://127.0.0.1:${proxy.httpPorts[1]}`;
});

after(async () => {
  assert.equal(await proxy?.stop(), 0);
});

/** One admin call: method, path and JSON body (if any). */
interface Call {
  method: string;
  path: string;
  body?: unknown;
}

const ADMIN: Call[] = [
  { method: "POST", path: "/api/admin/set_diagnostic_log_filter/v1", body: { filter: "proxy_server=info" } },
  { method: "POST", path: "/api/admin/egress/sources/a/suspend/v1", body: { duration: "10m", reason: "maintenance" } },
  { method: "DELETE", path: "/api/admin/egress/sources/a/suspend/v1" },
  { method: "GET", path: "/api/admin/egress/sources/v1" },
];

/** Send `call` to `root` with extra curl arguments; resolves with status, WWW-Authenticate and body. */
async function send(root: string, call: Call, auth: string[] = [], from?: string) {
  const args = ["--http1.1", "--include", "--request", call.method, ...auth];
  if (call.body !== undefined) {
    args.push("--header", "content-type: application/json", "--data-binary", JSON.stringify(call.body));
  }
  if (from) args.push("--interface", from);
  const r = await curl([...args, `${root}${call.path}`]);
  assert.equal(r.code, 0, r.stderr);
  const end = r.stdout.indexOf("\r\n\r\n");
  const head = r.stdout.slice(0, end).split("\r\n");
  const challenge = head.find((l) => /^www-authenticate:/i.test(l))?.replace(/^[^:]+:\s*/, "");
  return { status: Number(head[0].split(" ")[1]), challenge, body: r.stdout.slice(end + 4) };
}

const bearer = (token: string) => ["--header", `Authorization: Bearer ${token}`];
const basic = (user: string, password: string) => ["--user", `${user}:${password}`];

test("no credentials: 401 with both challenges on every admin route (log filter, suspend, clear, list)", async () => {
  for (const call of ADMIN) {
    const r = await send(base, call);
    assert.equal(r.status, 401, `${call.method} ${call.path}`);
    assert.equal(r.challenge, 'Bearer realm="proxy-server", Basic realm="proxy-server"');
    assert.equal(r.body, "unauthorized\n");
  }
  await proxy.waitForLog(
    /WARN[^\n]*proxy_server::http: POST \/api\/admin\/set_diagnostic_log_filter\/v1 from 127\.0\.0\.1: no credentials/,
  );
});

test("wrong credentials: 401 (wrong token, wrong password, unknown user, a token given as Basic, junk)", async () => {
  const wrong = [
    bearer("t0ken-literaL"),
    bearer(`${TOKEN}x`),
    bearer(""),
    basic("ops", "wrong"),
    basic("ops", "file-password\n"),
    basic("argon", "bcrypt-password"),
    basic("bcrypt", "argon-password"),
    basic("nobody", "file-password"),
    basic(TOKEN, ""),
    ["--header", "Authorization: Basic !!!notbase64"],
    ["--header", `Authorization: Token ${TOKEN}`],
  ];
  for (const call of ADMIN) {
    for (const auth of wrong) {
      const r = await send(base, call, auth);
      assert.equal(r.status, 401, `${call.method} ${call.path} with ${auth.join(" ")}`);
      assert.match(r.challenge ?? "", /^Bearer realm="proxy-server", Basic realm="proxy-server"$/);
    }
  }
});

test("the right bearer token (literal or from env) or Basic account (file password, argon2id, bcrypt) gets 200", async () => {
  const right = [
    bearer(TOKEN),
    bearer(ENV_TOKEN),
    basic("ops", "file-password"),
    basic("argon", "argon-password"),
    basic("bcrypt", "bcrypt-password"),
  ];
  for (const auth of right) {
    for (const call of ADMIN) {
      const r = await send(base, call, auth);
      assert.equal(r.status, 200, `${call.method} ${call.path} with ${auth.join(" ")}: ${r.body}`);
      assert.equal(r.challenge, undefined);
    }
  }
  const suspended = await send(base, ADMIN[1], bearer(TOKEN));
  assert.equal(JSON.parse(suspended.body).reason, "maintenance", "the suspend route ran");
  const cleared = await send(base, ADMIN[2], basic("bcrypt", "bcrypt-password"));
  assert.equal(JSON.parse(cleared.body).suspended, false, "the clear route ran");
  // A verified account is remembered briefly; a wrong password for it is still refused.
  assert.equal((await send(base, ADMIN[3], basic("argon", "argon-password "))).status, 401);
  assert.equal((await send(base, ADMIN[3], basic("argon", "argon-password"))).status, 200);
});

test("metrics, health, status and docs need no credentials", async () => {
  for (
    const path of [
      "/metrics",
      "/metrics.json",
      "/proxy/status",
      "/api/check-liveness/v1",
      "/api/status/v1",
      "/api-docs/openapi.json",
    ]
  ) {
    const r = await send(base, { method: "GET", path });
    assert.equal(r.status, 200, path);
  }
});

test("credentials do not replace trusted_hosts: a valid token from an untrusted address gets 403", async () => {
  const r = await send(base, ADMIN[0], bearer(TOKEN), "127.0.0.2");
  assert.equal(r.status, 403);
});

test("a listener without auth keeps its admin API open to trusted hosts", async () => {
  for (const call of ADMIN) assert.equal((await send(open, call)).status, 200, `${call.method} ${call.path}`);
});
