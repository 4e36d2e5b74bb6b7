// `proxy-server completion bash|zsh|fish`: the scripts, loaded into the real
// shells (Debian's bash, zsh and fish, installed by scripts/test-peers.sh),
// complete the flags of the option table parseArgs uses, file names after a
// FILE flag, and the shells after `completion`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import process from "node:process";
import { cliCommand, ROOT, runCli, writeTempConfig } from "../helpers/proxy-process.ts";
import { OPTION_TABLE } from "../../src/cli/options.ts";
import { completionScript, flags } from "../../src/cli/completion.ts";

/** The from-source CLI as one shell word list. */
const CLI = cliCommand().map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");

function shell(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: ROOT, timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** What bash's completion function offers for the words `words` (the last one being completed). */
async function bashComplete(words: string[]): Promise<string[]> {
  const array = words.map((w) => `'${w}'`).join(" ");
  const r = await shell("bash", [
    "-c",
    `source <(${CLI} completion bash)
COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}
_proxy_server; printf '%s\\n' "\${COMPREPLY[@]}"`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "");
}

test("bash: source <(proxy-server completion bash) completes --conf to --config, FILE values to files, and the shells", async () => {
  // --con is also the start of --convert-proxy-config; --conf is only --config.
  assert.deepEqual((await bashComplete(["proxy-server", "--con"])).sort(), ["--config", "--convert-proxy-config"]);
  assert.deepEqual(await bashComplete(["proxy-server", "--conf"]), ["--config"]);
  assert.deepEqual(await bashComplete(["proxy-server", "--dump-m"]), ["--dump-metric-metadata"]);
  const all = await bashComplete(["proxy-server", "--"]);
  assert.deepEqual(all.sort(), OPTION_TABLE.map((o) => `--${o.long}`).sort(), "every flag of the option table");
  assert.deepEqual(await bashComplete(["proxy-server", "--validate-config", "--format", ""]), ["text", "github"]);
  // --validate-config's values are the arguments after it.
  assert.deepEqual(await bashComplete(["proxy-server", "--validate-config", "proxy.json", "deploy/proxy."]), [
    "deploy/proxy.json",
  ]);
  assert.deepEqual(await bashComplete(["proxy-server", "completion", ""]), ["bash", "zsh", "fish"]);
  assert.ok((await bashComplete(["proxy-server", "co"])).includes("completion"));
  assert.deepEqual((await bashComplete(["proxy-server", "--validate-config", "deploy/proxy."])).sort(), [
    "deploy/proxy.json",
  ]);
  assert.deepEqual(await bashComplete(["proxy-server", "--listen", ""]), [], "no guesses for an address");
});

test("fish: proxy-server completion fish | source completes --conf to --config with their descriptions, and the shells", async () => {
  const complete = async (line: string) => {
    const r = await shell("fish", ["--no-config", "-c", `${CLI} completion fish | source; complete -C '${line}'`]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split("\n").filter((l) => l !== "");
  };
  assert.deepEqual(await complete("proxy-server --conf"), [
    "--config\tRun with the JSON config FILE (see config.schema.json)",
  ]);
  assert.deepEqual((await complete("proxy-server --format ")).map((l) => l.split("\t")[0]).sort(), ["github", "text"]);
  assert.deepEqual((await complete("proxy-server completion ")).sort(), ["bash", "fish", "zsh"]);
  assert.ok(
    (await complete("proxy-server --validate-config deploy/proxy.")).some((l) => l.startsWith("deploy/proxy.json")),
  );
});

test("zsh: the script parses and registers _proxy_server for proxy-server with compinit", async () => {
  const file = writeTempConfig(completionScript("zsh"), "_proxy_server");
  const syntax = await shell("zsh", ["-n", file]);
  assert.equal(syntax.code, 0, syntax.stderr);
  const r = await shell("zsh", [
    "-f",
    "-c",
    `autoload -Uz compinit && compinit -u -D && source <(${CLI} completion zsh) && print -r -- $_comps[proxy-server]`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "_proxy_server");
});

test("completion: the flags come from the option table; a bad shell exits 2", async () => {
  const byName = new Map(flags().map((f) => [f.long, f]));
  assert.deepEqual([...byName.keys()], OPTION_TABLE.map((o) => o.long));
  assert.equal(byName.get("config")!.valueName, "FILE");
  assert.equal(byName.get("listen")!.valueName, "ADDR");
  assert.equal(byName.get("dump-config-schema")!.description, "Print the config JSON Schema");
  // An option added to the table is completed with no change to completion.ts.
  const extra = flags([...OPTION_TABLE, { long: "policy-file", value: "FILE", help: "Read a policy. More text." }]);
  assert.match(completionScript("bash", extra), /--policy-file\)\n\s+compopt -o filenames/);
  assert.match(completionScript("fish", extra), /-l policy-file -r -F -d 'Read a policy'/);
  const bad = await runCli(["completion", "tcsh"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /completion bash\|zsh\|fish/);
  const printed = await runCli(["completion", "bash"]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout, completionScript("bash"));
});
