// `proxy-server --validate-config` as a CI job runs it: several files and
// standard input, secrets checked for form only unless --resolve-secrets,
// FILE:LINE:COLUMN problems, and GitHub Actions annotations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { cliCommand, ROOT, writeTempConfig } from "../helpers/proxy-process.ts";
import { githubAnnotation } from "../../src/cli/validate-command.ts";

/** The examples, as a CI job names them: relative to the repository root. */
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((n) => n.endsWith(".json")).map((n) => `examples/${n}`);

/** The environment without PROXY_KUMOD_PASSWORD (the examples' variable), plus `extra`. */
function environment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && name !== "PROXY_KUMOD_PASSWORD") env[name] = value;
  }
  return { ...env, ...extra };
}

/** Run the CLI from the repository root with `stdin` as its standard input. */
function cli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...pre] = cliCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], { cwd: ROOT, env: environment(options.env), stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d.toString());
    child.stderr.on("data", (d) => stderr += d.toString());
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

test("every example validates with no variable set and no secret file present", async () => {
  assert.ok(EXAMPLES.includes("examples/egress.json") && EXAMPLES.includes("examples/users.json"));
  const result = await cli(["--validate-config", ...EXAMPLES]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, EXAMPLES.map((file) => `${file}: valid\n`).join(""));
  assert.equal(result.stderr, "");
});

test("--resolve-secrets reads them: the missing variable is exit 2, named where it is used", async () => {
  const missing = await cli(["--validate-config", "--resolve-secrets", "examples/egress.json"]);
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr,
    'examples/egress.json:7:41: $.users[0].password: environment variable "PROXY_KUMOD_PASSWORD" is not set\n' +
      'examples/egress.json:19:32: $.sources["ip-2"].socks5_proxy_password: environment variable ' +
      '"PROXY_KUMOD_PASSWORD" is not set\n',
  );
  const set = await cli(["--validate-config", "--resolve-secrets", "examples/egress.json"], {
    env: { PROXY_KUMOD_PASSWORD: "secret" },
  });
  assert.equal(set.code, 0, set.stderr);
  // A { "file" } secret that is not there is named too.
  const file = await cli(["--validate-config", "examples/users.json", "--resolve-secrets"], {
    env: { PROXY_KUMOD_PASSWORD: "secret" },
  });
  assert.equal(file.code, 2);
  assert.match(
    file.stderr,
    /^examples\/users\.json:9:38: \$\.users\[2\]\.password: cannot read "\/etc\/proxy-server\/bob\.password"/,
  );
});

test("several files and standard input: exit 2 if any fails, each file's problems under its name", async () => {
  const bad = writeTempConfig(
    '{\n  "proxy_listeners": [\n    { "listen": "127.0.0.1:1080", "timeout": "sixty" }\n  ]\n}\n',
  );
  const alsoBad = writeTempConfig({ proxy_listeners: [{ listen: "127.0.0.1:1080", egress_pool: "nope" }] });
  const stdin = '{ "proxy_listeners": [{ "listen": "127.0.0.1:99999" }] }';
  const result = await cli(["--validate-config", "examples/minimal.json", bad, "-", alsoBad], { stdin });
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "examples/minimal.json: valid\n");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 3, result.stderr);
  assert.equal(
    lines[0],
    `${bad}:3:46: $.proxy_listeners[0].timeout: expected a duration such as "60s", "5m" or "1h 30m", got "sixty"`,
  );
  assert.match(lines[1], /^<stdin>:1:35: \$\.proxy_listeners\[0\]\.listen: /);
  assert.match(
    lines[2],
    new RegExp(`^${alsoBad}:5:22: \\$\\.proxy_listeners\\[0\\]\\.egress_pool: unknown egress pool "nope"`),
  );
  // Standard input alone, valid.
  const good = await cli(["--validate-config", "-"], { stdin: '{ "proxy_listeners": [{ "listen": "127.0.0.1:1" }] }' });
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout, "<stdin>: valid\n");
});

test("--format github prints one annotation per problem on stdout", async () => {
  const bad = writeTempConfig(
    '{\n  "proxy_listeners": [{ "listen": "127.0.0.1:1080", "timeout": "sixty" }],\n  "log": { "format": "xml" }\n}\n',
  );
  const unreadable = join(ROOT, "examples/no-such-file.json");
  const result = await cli(["--validate-config", "--format", "github", "examples/kumomta.json", bad, unreadable, "-"], {
    stdin: '{ "proxy_listeners": [], }',
  });
  assert.equal(result.code, 2);
  const lines = result.stdout.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 3), [
    "examples/kumomta.json: valid",
    `::error file=${bad},line=2,col=64::$.proxy_listeners[0].timeout: expected a duration such as "60s", "5m" or ` +
    '"1h 30m", got "sixty"',
    `::error file=${bad},line=3,col=22::$.log.format: expected "human" or "json", got "xml"`,
  ]);
  // No position for a file that cannot be read; standard input has no file= and is named in the message.
  assert.match(lines[3], new RegExp(`^::error file=${unreadable}::\\$: cannot read the file: `));
  assert.equal(
    lines[4],
    "::error line=1,col=26::<stdin>:1:26: $: not valid JSON at line 1, column 26: expected another property " +
      '(trailing commas are not allowed), got "}"',
  );
  assert.equal(lines.length, 5);
  assert.equal(result.stderr, "");
});

test("--format github escapes what would end an annotation's properties or message", async () => {
  const dir = writeTempConfig("{}", "a,b:c.json");
  const result = await cli(["--validate-config", "--format=github", dir]);
  assert.equal(result.code, 2);
  assert.match(
    result.stdout,
    /^::error file=[^,:]*a%2Cb%3Ac\.json,line=1,col=1::\$\.proxy_listeners: missing required key/,
  );
  // In the message, only %, CR and LF are escaped.
  assert.equal(
    githubAnnotation({ file: "p.json", path: "$.a", message: "100% wrong:\r\nsee, here" }),
    "::error file=p.json::$.a: 100%25 wrong:%0D%0Asee, here",
  );
});

test("bad uses of the flags are exit 2 with what to do", async () => {
  const cases: [string[], RegExp][] = [
    [["--validate-config"], /--validate-config needs at least one FILE \(or - for standard input\)/],
    [["--validate-config", "-", "-"], /standard input \(-\) can be read only once/],
    [["--validate-config", "--format", "xml", "x.json"], /--format expects text or github, got "xml"/],
    [["--config", "proxy.json", "--resolve-secrets"], /--resolve-secrets and --format go with --validate-config/],
    [["--config", "proxy.json", "extra.json"], /unexpected argument "extra\.json"/],
  ];
  for (const [args, message] of cases) {
    const result = await cli(args);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, message, args.join(" "));
  }
});
