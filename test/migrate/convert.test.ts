// Migrating from KumoProxy, through the real CLI: `--convert-proxy-config
// init.lua` runs the Lua policy (KumoMTA's documented examples, in both the
// `kumo.start_proxy_listener` and `proxy.start_proxy_listener` spellings) and
// prints a config that ajv validates against config.schema.json;
// `--proxy-config init.lua` converts in memory and listens where the Lua
// said (checked with a SOCKS5 greeting on each listener). Auth handlers,
// syntax errors and runtime errors exit as documented.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { EDITOR_KEYWORDS } from "../../src/config/index.ts";
import { cliCommand, ROOT, runCli, sendSignal, writeTempConfig } from "../helpers/proxy-process.ts";

const fixtures = fileURLToPath(new URL("../runtime/fixtures/", import.meta.url));

async function validator() {
  const schema = JSON.parse(
    await readFile(fileURLToPath(new URL("../../config.schema.json", import.meta.url)), "utf8"),
  );
  return new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).addVocabulary([...EDITOR_KEYWORDS])
    .compile(schema);
}

/** Write `lua` to a temporary init.lua and return its path. */
function policy(lua: string): string {
  return writeTempConfig(lua, "init.lua");
}

/** `--convert-proxy-config FILE`, with the printed config parsed and checked by ajv. */
async function convert(file: string, env?: Record<string, string>) {
  const result = await runCli(["--convert-proxy-config", file], { env });
  let config: Record<string, unknown> | undefined;
  if (result.stdout.trim() !== "") {
    config = JSON.parse(result.stdout);
    const validate = await validator();
    assert.ok(validate(config), `${JSON.stringify(validate.errors)}\n${result.stdout}`);
  }
  return { ...result, config };
}

/** Start `--proxy-config FILE` and wait for `count` "proxy listener on" lines; resolves with their ports. */
async function startPolicy(file: string, count: number, env?: Record<string, string>) {
  const [cmd, ...pre] = cliCommand();
  const child = spawn(cmd, [...pre, "--proxy-config", file], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listeners in time; log:\n${stderr}`)), 20_000);
    child.stderr!.on("data", (d) => {
      stderr += d.toString();
      if ((stderr.match(/proxy listener on /g) ?? []).length >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then((code) => reject(new Error(`exited ${code} before listening; log:\n${stderr}`)));
  });
  child.stdout!.on("data", () => {});
  await ready;
  const ports = [...stderr.matchAll(/proxy listener on [\d.]+:(\d+)/g)].map((m) => Number(m[1]));
  const httpPorts = [...stderr.matchAll(/http listener on [\d.]+:(\d+)/g)].map((m) => Number(m[1]));
  return {
    ports,
    httpPorts,
    log: () => stderr,
    hangUp: () => sendSignal(child, "SIGHUP"),
    /** Wait until the log matches `pattern`. */
    async waitForLog(pattern: RegExp) {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(stderr)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; log:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      sendSignal(child, "SIGTERM");
      const timer = setTimeout(() => sendSignal(child, "SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** SOCKS5 greeting offering `methods` (default: no-auth only); resolves with the METHOD the server selects. */
function greet(port: number, options: { tls?: boolean; methods?: number[] } = {}): Promise<number> {
  const methods = options.methods ?? [0x00];
  return new Promise((resolve, reject) => {
    const onConnect = () => socket.write(Uint8Array.from([0x05, methods.length, ...methods]));
    const socket: Socket = options.tls
      ? tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, onConnect)
      : tcpConnect({ host: "127.0.0.1", port }, onConnect);
    socket.setTimeout(5000, () => socket.destroy(new Error("greeting timed out")));
    socket.once("data", (d: Uint8Array) => {
      socket.destroy();
      assert.equal(d[0], 0x05);
      resolve(d[1]);
    });
    socket.once("error", reject);
  });
}

// KumoMTA's proxy_init / start_proxy_http_listener examples, on loopback port 0.
const KUMO_SPELLING = `
kumo.on('proxy_init', function()
  -- Start the SOCKS5 proxy
  kumo.start_proxy_listener {
    listen = '127.0.0.1:0',
    timeout = '60 seconds',
  }

  -- Start the HTTP listener for metrics
  kumo.start_proxy_http_listener {
    listen = '127.0.0.1:0',
    trusted_hosts = { '127.0.0.1', '::1' },
  }
end)
`;

const PROXY_SPELLING = `
local kumo = require 'kumo'
local proxy = require 'proxy'

kumo.on('proxy_init', function()
  -- Start the SOCKS5 proxy
  proxy.start_proxy_listener {
    listen = '127.0.0.1:0',
  }

  -- Start the HTTP listener for metrics
  proxy.start_http_listener {
    listen = '127.0.0.1:0',
    trusted_hosts = { '127.0.0.1', '::1' },
  }
end)
`;

test("KumoMTA's kumo.start_proxy_listener example converts and runs", async () => {
  const file = policy(KUMO_SPELLING);
  const result = await convert(file);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.config, {
    proxy_listeners: [{ listen: "127.0.0.1:0", timeout: "60 seconds" }],
    http_listeners: [{ listen: "127.0.0.1:0", trusted_hosts: ["127.0.0.1", "::1"] }],
  });
  const proxy = await startPolicy(file, 1);
  try {
    assert.equal(proxy.httpPorts.length, 1, proxy.log());
    assert.equal(await greet(proxy.ports[0]), 0x00);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("the proxy.start_proxy_listener / proxy.on spelling converts too", async () => {
  const result = await convert(policy(PROXY_SPELLING.replace("kumo.on(", "proxy.on(")));
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.config, {
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0", trusted_hosts: ["127.0.0.1", "::1"] }],
  });
});

test("a loop opening five listeners on 127.0.0.1 port 0: five listeners, each answering a greeting", async () => {
  const file = policy(`
local kumo = require 'kumo'
kumo.on('proxy_init', function()
  for i = 1, 5 do
    kumo.start_proxy_listener { listen = '127.0.0.1:0', timeout = 10 * i }
  end
end)
`);
  const result = await convert(file);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    result.config?.proxy_listeners,
    [10, 20, 30, 40, 50].map((n) => ({ listen: "127.0.0.1:0", timeout: `${n}s` })),
  );
  const proxy = await startPolicy(file, 5);
  try {
    assert.equal(new Set(proxy.ports).size, 5, proxy.log());
    for (const port of proxy.ports) assert.equal(await greet(port), 0x00);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("use_tls, tls_certificate / tls_private_key paths and require_auth carry over", async () => {
  const file = policy(`
kumo.on('proxy_init', function()
  kumo.start_proxy_listener {
    listen = '127.0.0.1:0',
    use_tls = true,
    tls_certificate = '${fixtures}localhost-cert.pem',
    tls_private_key = '${fixtures}localhost-key.pem',
    require_auth = true,
  }
  kumo.start_proxy_listener { listen = '127.0.0.1:0', use_tls = true, hostname = 'proxy.example' }
end)
`);
  const result = await convert(file);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.config?.proxy_listeners, [
    {
      listen: "127.0.0.1:0",
      require_auth: true,
      use_tls: true,
      tls_certificate: `${fixtures}localhost-cert.pem`,
      tls_private_key: `${fixtures}localhost-key.pem`,
    },
    { listen: "127.0.0.1:0", use_tls: true, hostname: "proxy.example" },
  ]);
  const proxy = await startPolicy(file, 2);
  try {
    // require_auth: no-auth alone is refused (0xFF), username/password selected.
    assert.equal(await greet(proxy.ports[0], { tls: true }), 0xff);
    assert.equal(await greet(proxy.ports[0], { tls: true, methods: [0x00, 0x02] }), 0x02);
    assert.equal(await greet(proxy.ports[1], { tls: true }), 0x00);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("os.getenv reads the environment of the process", async () => {
  const file = policy(`
kumo.on('proxy_init', function()
  kumo.start_proxy_listener { listen = os.getenv('PROXY_LISTEN') or '127.0.0.1:1' }
  if os.getenv('SURELY_UNSET_VARIABLE') == nil then
    kumo.start_proxy_listener { listen = '127.0.0.1:0', timeout = os.getenv('PROXY_TIMEOUT') }
  end
end)
`);
  const env = { PROXY_LISTEN: "127.0.0.1:0", PROXY_TIMEOUT: "5m" };
  const result = await convert(file, env);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.config?.proxy_listeners, [
    { listen: "127.0.0.1:0" },
    { listen: "127.0.0.1:0", timeout: "5m" },
  ]);
  const proxy = await startPolicy(file, 2, env);
  try {
    for (const port of proxy.ports) assert.equal(await greet(port), 0x00);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

const AUTH_POLICY = `
kumo.on('proxy_init', function()
  kumo.start_proxy_listener { listen = '127.0.0.1:0', require_auth = true }
end)

kumo.on('proxy_server_auth_rfc1929', function(username, password, conn_meta)
  return username == 'user' and password == 'secret'
end)
`;

test("an auth handler is listed with what to write instead: convert exits 1, --proxy-config refuses with 2", async () => {
  const file = policy(AUTH_POLICY);
  const result = await convert(file);
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(result.config, { proxy_listeners: [{ listen: "127.0.0.1:0", require_auth: true }] });
  assert.match(result.stderr, /init\.lua:6: kumo\.on\('proxy_server_auth_rfc1929'\) handler: not converted; .*"users"/);
  const run = await runCli(["--proxy-config", file]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /proxy_server_auth_rfc1929/);
  assert.doesNotMatch(run.stderr, /proxy listener on/);
});

test("keys the schema does not know (use_splice) are dropped with a note", async () => {
  const file = policy(`
kumo.on('proxy_init', function()
  kumo.start_proxy_listener { listen = '127.0.0.1:0', use_splice = false, frobnicate = 1 }
end)
`);
  const result = await convert(file);
  const schema = JSON.parse(
    await readFile(fileURLToPath(new URL("../../config.schema.json", import.meta.url)), "utf8"),
  );
  const known = Object.keys(schema.properties.proxy_listeners.items.properties);
  if (known.includes("use_splice")) {
    assert.deepEqual(result.config?.proxy_listeners, [{ listen: "127.0.0.1:0", use_splice: false }]);
  } else {
    assert.deepEqual(result.config?.proxy_listeners, [{ listen: "127.0.0.1:0" }]);
    assert.match(
      result.stderr,
      /init\.lua:3: kumo\.start_proxy_listener: key use_splice = false: not converted; .*splice/,
    );
  }
  assert.match(result.stderr, /key frobnicate = 1: not converted/);
  assert.equal(result.code, 1);
});

test("a Lua syntax error exits 2 with file and line, and prints no config", async () => {
  const file = policy(
    "kumo.on('proxy_init', function()\n  kumo.start_proxy_listener { listen = '127.0.0.1:0' }\n  local x = = 1\nend)\n",
  );
  for (const args of [["--convert-proxy-config", file], ["--proxy-config", file]]) {
    const result = await runCli(args);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /init\.lua:3: unexpected symbol near '='/);
  }
});

test("a runtime error in proxy_init exits 2 with file and line", async () => {
  const file = policy(
    "local t = {}\nkumo.on('proxy_init', function()\n  kumo.start_proxy_listener { listen = t.a.b }\nend)\n",
  );
  const result = await runCli(["--convert-proxy-config", file]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /init\.lua:3: attempt to index a nil value \(field 'a'\)/);
  const missing = await runCli(["--convert-proxy-config", policy("local kumo = require 'kumo'\n")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no proxy_init handler/);
});

test("--proxy-config FILE.json is the same as --config", async () => {
  const file = writeTempConfig({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  const proxy = await startPolicy(file, 1);
  try {
    assert.equal(await greet(proxy.ports[0]), 0x00);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("SIGHUP runs the policy again: a listener added to init.lua starts, an auth handler is refused", async () => {
  const one = "kumo.on('proxy_init', function()\n  kumo.start_proxy_listener { listen = '127.0.0.1:0' }\n";
  const file = policy(`${one}end)\n`);
  const proxy = await startPolicy(file, 1);
  try {
    writeFileSync(file, `${one}  kumo.start_proxy_listener { listen = '127.0.0.1:0', timeout = 5 }\nend)\n`);
    proxy.hangUp();
    await proxy.waitForLog(/configuration reloaded/);
    const ports = [...proxy.log().matchAll(/proxy listener on [\d.]+:(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(ports.length, 2, proxy.log());
    assert.equal(await greet(ports[1]), 0x00);
    writeFileSync(file, AUTH_POLICY);
    proxy.hangUp();
    await proxy.waitForLog(/reload refused[^\n]*proxy_server_auth_rfc1929/);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("--proxy-config with a Lua policy does not combine with --listen or --config", async () => {
  const file = policy(KUMO_SPELLING);
  for (const extra of [["--listen", "127.0.0.1:0"], ["--config", "proxy.json"]]) {
    const result = await runCli(["--proxy-config", file, ...extra]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--proxy-config/);
  }
});

test("--help lists --proxy-config and --convert-proxy-config", async () => {
  const result = await runCli(["--help"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /--proxy-config FILE/);
  assert.match(result.stdout, /--convert-proxy-config FILE/);
});
