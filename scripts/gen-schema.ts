/**
 * Write `config.schema.json` from the valibot schema (`configJsonSchema()`),
 * as 2-space JSON with a trailing newline, and the config reference
 * `docs/config.md` from that schema.
 *
 *     bun scripts/gen-schema.ts            # (re)write both files
 *     bun scripts/gen-schema.ts --check    # exit 1 if a committed file is stale
 *     deno run -A scripts/gen-schema.ts [--check]
 *
 * @module
 */

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../src/config/index.ts";
import { renderConfigDocs } from "./config-docs.ts";

/** Where the generated schema is committed: the repository root. */
const TARGET = fileURLToPath(new URL("../config.schema.json", import.meta.url));
/** Where the generated config reference is committed. */
const DOCS = fileURLToPath(new URL("../docs/config.md", import.meta.url));

/** The exact text `config.schema.json` must have. */
export function renderConfigSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

/** The exact text `docs/config.md` must have. */
export function renderConfigReference(): string {
  return renderConfigDocs(configJsonSchema());
}

async function main(args: string[]): Promise<number> {
  const outputs: [string, string][] = [[TARGET, renderConfigSchema()], [DOCS, renderConfigReference()]];
  if (args.includes("--check")) {
    let status = 0;
    for (const [file, text] of outputs) {
      const committed = await readFile(file, "utf8").catch(() => undefined);
      if (committed === text) continue;
      console.error(
        `${file} is ${committed === undefined ? "missing" : "stale"}; ` +
          "run `bun scripts/gen-schema.ts` and commit the result",
      );
      status = 1;
    }
    return status;
  }
  await mkdir(dirname(DOCS), { recursive: true });
  for (const [file, text] of outputs) {
    await writeFile(file, text);
    console.error(`wrote ${file}`);
  }
  return 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
