// The README's metric table documents every declared metric with its type and labels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { METRICS } from "../../src/metrics/index.ts";

test("README.md lists every declared metric with its type and labels", async () => {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  for (const [name, d] of Object.entries(METRICS)) {
    const row = readme.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));
    assert.ok(row, `README has a row for ${name}`);
    const cells = row.split("|").map((c) => c.trim());
    assert.equal(cells[2], d.type, `${name} type`);
    assert.equal(cells[3], d.labels.map((l) => `\`${l}\``).join(", "), `${name} labels`);
  }
});
