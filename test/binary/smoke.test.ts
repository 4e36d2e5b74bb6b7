// The single executable, as a user gets it: built from the current source
// with `scripts/build --host-only` (bun build --compile), copied alone into
// an empty directory (no node_modules anywhere above it), and run from
// there: --version, --validate-config, --dump-openapi-spec, a real tunnel
// with curl, /metrics and the offline /rapidoc page, TLS with a generated
// certificate, --healthcheck, an argon2id user's login checked on the
// bundled hash worker, and a clean stop on SIGTERM.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { argon2id } from "hash-wasm";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildLoneBinary, type LoneBinary } from "../helpers/binary.ts";
import { curl } from "../helpers/curl.ts";
import { closedPort } from "../helpers/peers.ts";
import { ROOT, runCli, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";
import { startHttpTarget } from "../helpers/target.ts";

/** The built binary, alone in its run directory. */
let binary: LoneBinary | undefined;
/** The empty directory the binary runs in (it holds only the binary). */
let runDir = "";
/** The command that runs the binary. */
let command: string[] = [];

before(async () => {
  binary = await buildLoneBinary("proxy-server-binary-");
  runDir = binary.runDir;
  command = [binary.path];
});

after(() => binary?.remove());

/** Run the binary to completion from its empty directory. */
function run(args: string[], env?: Record<string, string>) {
  return runCli(args, { command, cwd: runDir, env });
}

/** The commit the binary was built from, as git itself names it. */
const headCommit = () => execFileSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();

test("the binary runs alone from an empty directory and prints its version, runtime, commit and build time", async () => {
  assert.deepEqual(readdirSync(runDir), ["proxy-server"]);
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
  const result = await run(["--version"]);
  assert.equal(result.code, 0, result.stderr);
  const m = new RegExp(
    `^proxy-server ${
      version.replace(/\./g, "\\.")
    } \\(bun \\d+\\.\\d+\\.\\d+; commit ([0-9a-f]{7,40}), built (\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ)\\)\\n$`,
  ).exec(result.stdout);
  assert.ok(m, `--version: ${result.stdout}`);
  assert.equal(m[1], headCommit(), "the commit hash of the checkout it was built from");
  const built = Date.parse(m[2]);
  assert.ok(built <= Date.now() + 1000 && built > Date.now() - 3_600_000, `built ${m[2]}, during this test run`);
});

test("--validate-config: the bundled config is valid (exit 0), a broken one is not (exit 2, with the JSON path)", async () => {
  const good = await run(["--validate-config", join(ROOT, "proxy.json")]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /proxy\.json: valid/);
  const broken = writeTempConfig({ proxy_listeners: [{ listen: "127.0.0.1:1080", timeout: "sixty" }] });
  const bad = await run(["--validate-config", broken]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /\$\.proxy_listeners\[0\]\.timeout: expected a duration/);
});

test("--dump-openapi-spec from the binary equals the spec from source", async () => {
  const binary = await run(["--dump-openapi-spec"]);
  const source = await runCli(["--dump-openapi-spec"]);
  assert.equal(binary.code, 0, binary.stderr);
  assert.equal(source.code, 0, source.stderr);
  assert.ok(binary.stdout.length > 1000);
  assert.equal(binary.stdout, source.stdout);
});

test("the binary tunnels a curl request, serves /metrics and an offline /rapidoc, passes --healthcheck, exits 0 on SIGTERM", async () => {
  const target = await startHttpTarget();
  const proxy = await startProxy(
    { proxy_listeners: [{ listen: "127.0.0.1:0" }], http_listeners: [{ listen: "127.0.0.1:0" }] },
    { command, cwd: runDir },
  );
  try {
    const port = proxy.ports[0];
    const response = await curl(["--socks5", `127.0.0.1:${port}`, `http://127.0.0.1:${target.port}/`]);
    assert.equal(response.code, 0, response.stderr);
    assert.equal(response.stdout, "hello from target\n");
    const http = `http://127.0.0.1:${proxy.httpPorts[0]}`;
    const metrics = await curl([`${http}/metrics`]);
    assert.equal(metrics.code, 0, metrics.stderr);
    // The label is the bound address, with the real port.
    assert.ok(
      metrics.stdout.includes(`\nproxy_connections_accepted_total{listener="127.0.0.1:${port}"} 1\n`),
      metrics.stdout,
    );
    const commit = headCommit();
    assert.match(
      metrics.stdout,
      new RegExp(
        `^proxy_build_info\\{version="[^"]+",commit="${commit}",build_date="\\d{4}-[^"]+Z",runtime="bun",`,
        "m",
      ),
    );
    const status = await curl(["--fail", `${http}/api/status/v1`]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      JSON.parse(status.stdout).build,
      new RegExp(`^commit ${commit}, built \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z$`),
    );
    const page = await curl(["--fail", `${http}/rapidoc`]);
    assert.equal(page.code, 0, page.stderr);
    const referenced = [...page.stdout.matchAll(/(?:src|href)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1]);
    assert.ok(referenced.length > 0, "the page loads a script");
    for (const ref of referenced) {
      assert.doesNotMatch(ref, /^(?:https?:)?\/\//, `the page references an external host: ${ref}`);
    }
    const bundle = await curl([
      "--fail",
      "--output",
      "/dev/null",
      "--write-out",
      "%{size_download}",
      `${http}/rapidoc/scalar.js`,
    ]);
    assert.equal(bundle.code, 0, bundle.stderr);
    assert.ok(
      Number(bundle.stdout) > 1_000_000,
      `the Scalar bundle is served from the binary (${bundle.stdout} bytes)`,
    );
    const healthy = await run(["--healthcheck", "--listen", `127.0.0.1:${port}`]);
    assert.equal(healthy.code, 0, healthy.stderr);
    const unhealthy = await run(["--healthcheck", "--listen", `127.0.0.1:${await closedPort()}`]);
    assert.equal(unhealthy.code, 1);
  } finally {
    assert.equal(await proxy.stop("SIGTERM"), 0);
    await target.close();
  }
});

test("the binary generates a TLS certificate (bundled x509 library) and --healthcheck reaches it over TLS", async () => {
  const proxy = await startProxy(
    { proxy_listeners: [{ listen: "127.0.0.1:0", use_tls: true, hostname: "binary.test" }] },
    { command, cwd: runDir },
  );
  try {
    assert.match(
      proxy.log(),
      /self-signed certificate for binary\.test, SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/,
    );
    const config = writeTempConfig({ proxy_listeners: [{ listen: `127.0.0.1:${proxy.ports[0]}`, use_tls: true }] });
    const healthy = await run(["--healthcheck", "--config", config]);
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.match(healthy.stdout, /\(TLS\) answered the SOCKS5 greeting/);
  } finally {
    assert.equal(await proxy.stop("SIGTERM"), 0);
  }
});

test("the binary checks an argon2id password_hash on its bundled hash worker (curl --socks5 user:pass@)", async () => {
  const target = await startHttpTarget();
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await argon2id({
    password: "s3cret",
    salt,
    parallelism: 1,
    iterations: 1,
    memorySize: 256,
    hashLength: 32,
    outputType: "encoded",
  });
  const proxy = await startProxy(
    {
      proxy_listeners: [{ listen: "127.0.0.1:0", require_auth: true }],
      http_listeners: [{ listen: "127.0.0.1:0" }],
      users: [{ username: "mta", password_hash: hash }],
    },
    { command, cwd: runDir },
  );
  try {
    const port = proxy.ports[0];
    const url = `http://127.0.0.1:${target.port}/`;
    const ok = await curl(["--socks5", `mta:s3cret@127.0.0.1:${port}`, url]);
    assert.equal(ok.code, 0, `${ok.stderr}\n${proxy.log()}`);
    assert.equal(ok.stdout, "hello from target\n");
    const bad = await curl(["--socks5", `mta:wrong@127.0.0.1:${port}`, url]);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stdout, "");
    const metrics = await curl([`http://127.0.0.1:${proxy.httpPorts[0]}/metrics`]);
    assert.match(metrics.stdout, /^proxy_auth_hash_verifications_total 2$/m, "both logins were hashed on the worker");
    assert.doesNotMatch(proxy.log(), /hash worker failed/);
  } finally {
    assert.equal(await proxy.stop("SIGTERM"), 0);
    await target.close();
  }
});
