// The command line: --help lists every option with its short form, a
// mistyped option gets the nearest one suggested, and --validate-config
// takes several files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommand, USAGE, UsageError } from "../../src/cli/args.ts";
import { editDistance, OPTION_TABLE, suggestOption } from "../../src/cli/options.ts";
import { runCli } from "../helpers/proxy-process.ts";

test("--help lists the short forms next to the long ones, and every option", async () => {
  const help = await runCli(["-h"]);
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stdout, USAGE);
  assert.match(help.stdout, /^ {2}-h, --help {2,}Print this help\.$/m);
  assert.match(help.stdout, /^ {2}-V, --version {2,}Print the version and the runtime\.$/m);
  assert.match(help.stdout, /^ {2}-c, --config FILE {2,}Run with the JSON config FILE/m);
  for (const option of OPTION_TABLE) assert.match(help.stdout, new RegExp(`--${option.long}\\b`), option.long);
  // No line wider than 100 columns.
  for (const line of help.stdout.split("\n")) assert.ok(line.length <= 100, line);
  const version = await runCli(["-V"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^proxy-server \d+\.\d+\.\d+ \(/);
});

test("a mistyped option suggests the nearest: --conifg x is exit 2 with did you mean --config?", async () => {
  const result = await runCli(["--conifg", "x"]);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, "proxy-server: unknown option --conifg; did you mean --config? (see --help)\n");
});

test("suggestions: transpositions, typos, unique prefixes; nothing for what is far from every option", () => {
  assert.equal(suggestOption("--conifg"), "--config");
  assert.equal(suggestOption("--lsiten"), "--listen");
  assert.equal(suggestOption("--valdiate-config"), "--validate-config");
  assert.equal(suggestOption("--resolve-secret"), "--resolve-secrets");
  assert.equal(suggestOption("--health"), "--healthcheck");
  assert.equal(suggestOption("--verison"), "--version");
  assert.equal(suggestOption("--conifg=proxy.json"), "--config");
  assert.equal(suggestOption("--frobnicate"), undefined);
  assert.equal(suggestOption("--dump"), undefined); // a prefix of three options
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("conifg", "config"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.throws(() => parseCommand(["--frobnicate"]), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.message, "unknown option --frobnicate (see --help)");
    return true;
  });
});

test("--validate-config takes its files in order, - for standard input, and its flags anywhere", () => {
  assert.deepEqual(parseCommand(["--validate-config", "a.json", "-", "--format", "github", "b.json"]), {
    kind: "validate-config",
    files: ["a.json", "-", "b.json"],
    resolveSecrets: false,
    format: "github",
  });
  assert.deepEqual(parseCommand(["--resolve-secrets", "--validate-config=a.json", "b.json"]), {
    kind: "validate-config",
    files: ["a.json", "b.json"],
    resolveSecrets: true,
    format: "text",
  });
  // After --, a name that starts with a dash is a file.
  const odd = parseCommand(["--validate-config", "--", "--odd.json"]);
  assert.deepEqual(odd.kind === "validate-config" && odd.files, ["--odd.json"]);
});
