// docs/proxy-server.1: generated from the option table and README.md's
// reference sections, committed, and well-formed for groff's man macros.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { renderManPage } from "../../scripts/gen-man.ts";
import { OPTION_TABLE } from "../../src/cli/options.ts";
import { ROOT } from "../helpers/proxy-process.ts";

const PAGE = join(ROOT, "docs/proxy-server.1");

test("docs/proxy-server.1 is up to date with the option table and README.md (run bun scripts/gen-man.ts)", async () => {
  const committed = await readFile(PAGE, "utf8");
  assert.equal(committed, renderManPage(await readFile(join(ROOT, "README.md"), "utf8")));
});

test("groff -man -ww finds nothing to warn about, and the page lists every option", () => {
  const check = spawnSync("groff", ["-man", "-z", "-ww", PAGE], { encoding: "utf8" });
  assert.equal(check.error, undefined, "groff is installed (scripts/test-peers.sh installs groff-base)");
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stderr, "");
  const text = spawnSync("groff", ["-man", "-Tascii", "-P-cbou", "-rLL=200n", PAGE], { encoding: "utf8" });
  assert.equal(text.status, 0, text.stderr);
  for (
    const section of ["NAME", "SYNOPSIS", "OPTIONS", "COMMAND LINE", "CONFIGURATION", "ENVIRONMENT", "EXIT STATUS"]
  ) {
    assert.match(text.stdout, new RegExp(`^${section}$`, "m"), section);
  }
  for (const option of OPTION_TABLE) {
    const long = `--${option.long}${option.value === undefined ? "" : ` ${option.value}`}`;
    const label = option.short === undefined ? long : `-${option.short}, ${long}`;
    assert.match(text.stdout, new RegExp(`^ +${label.replace(/[|.]/g, "\\$&")}$`, "m"), label);
  }
  assert.match(text.stdout, /^ +Checking configs in CI$/m);
});
