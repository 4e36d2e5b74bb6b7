/**
 * Write `config.schema.json` from the valibot schema (`configJsonSchema()`),
 * as 2-space JSON with a trailing newline.
 *
 *     bun scripts/gen-schema.ts            # (re)write config.schema.json
 *     bun scripts/gen-schema.ts --check    # exit 1 if the committed file is stale
 *     deno run -A scripts/gen-schema.ts [--check]
 *
 * @module
 */

import { readFile, writeFile } from "node:fs/promises";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../src/config/index.ts";

/** Where the generated schema is committed: the repository root. */
const TARGET = fileURLToPath(new URL("../config.schema.json", import.meta.url));

/** The exact text `config.schema.json` must have. */
export function renderConfigSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

async function main(args: string[]): Promise<number> {
  const text = renderConfigSchema();
  if (args.includes("--check")) {
    const committed = await readFile(TARGET, "utf8").catch(() => undefined);
    if (committed === text) return 0;
    console.error(
      `${TARGET} is ${committed === undefined ? "missing" : "stale"}; ` +
        "run `bun scripts/gen-schema.ts` and commit the result",
    );
    return 1;
  }
  await writeFile(TARGET, text);
  console.error(`wrote ${TARGET}`);
  return 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
