/**
 * Write the manual page `docs/proxy-server.1` from the command-line tables
 * (`src/cli/options.ts`: synopsis, options, environment, exit status) and
 * from README.md's reference sections ("Command line" with its
 * subsections, and "Configuration"), converted from Markdown to man(7).
 *
 *     bun scripts/gen-man.ts            # (re)write docs/proxy-server.1
 *     bun scripts/gen-man.ts --check    # exit 1 if the committed page is stale
 *     man docs/proxy-server.1
 *
 * The Markdown understood is what those README sections use: headings,
 * paragraphs, `-` lists (continued by indented lines), fenced code blocks,
 * two-column tables, `code`, **bold** and [links](...).
 *
 * @module
 */

import { readFile, writeFile } from "node:fs/promises";
import process from "node:process";
import { fileURLToPath } from "node:url";
import pkg from "../package.json" with { type: "json" };
import { ENVIRONMENT_TABLE, EXIT_STATUS_TABLE, OPTION_TABLE, SYNOPSIS } from "../src/cli/options.ts";

/** Where the page is committed. */
const TARGET = fileURLToPath(new URL("../docs/proxy-server.1", import.meta.url));
/** The README it is generated from. */
const README = fileURLToPath(new URL("../README.md", import.meta.url));

/** The README's level-2 sections that become sections of the page, in this order. */
export const README_SECTIONS = ["Command line", "Configuration"] as const;

/** Characters outside printable ASCII (tabs and newlines aside) as groff's `\[uXXXX]`. */
function nonAscii(text: string): string {
  return text.replace(
    /[^\t\n\x20-\x7e]/gu,
    (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`,
  );
}

/** Plain text escaped for roff: backslashes, and minus signs as `\-`. */
function escape(text: string): string {
  return nonAscii(text.replace(/\\/g, "\\e").replace(/-/g, "\\-"));
}

/** A line of text safe at the start of a roff line (no `.` or `'` there). */
function line(text: string): string {
  return /^[.']/.test(text) ? `\\&${text}` : text;
}

/**
 * Markdown inline text as roff: `code` and **bold** in bold, links as their
 * text (with the address for a web link), options (`--config`) with real
 * minus signs.
 */
export function inline(markdown: string): string {
  const parts: string[] = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)/g;
  let last = 0;
  const prose = (text: string) =>
    nonAscii(
      text.replace(/\\/g, "\\e").replace(/(^|[\s(\[/])(--?[A-Za-z][\w-]*)/g, (_, pre, option) =>
        pre + option.replace(/-/g, "\\-")),
    );
  for (const m of markdown.matchAll(pattern)) {
    parts.push(prose(markdown.slice(last, m.index)));
    if (m[1] !== undefined) parts.push(`\\fB${escape(m[1])}\\fR`);
    else if (m[2] !== undefined) parts.push(`\\fB${prose(m[2])}\\fR`);
    else parts.push(inline(m[3]) + (/^https?:/.test(m[4]) ? ` <${escape(m[4])}>` : ""));
    last = m.index! + m[0].length;
  }
  parts.push(prose(markdown.slice(last)));
  return parts.join("");
}

/** The cells of a Markdown table row, split at `|` outside code spans. */
function cells(row: string): string[] {
  const found: string[] = [];
  let cell = "";
  let code = false;
  for (const c of row.trim().replace(/^\|/, "").replace(/\|$/, "")) {
    if (c === "`") code = !code;
    if (c === "|" && !code) {
      found.push(cell.trim());
      cell = "";
    } else {
      cell += c;
    }
  }
  found.push(cell.trim());
  return found;
}

/**
 * Markdown blocks as roff: `###` headings as `.SS`, paragraphs as `.PP`,
 * list items as `.IP`, code blocks as no-fill displays, table rows as
 * `.TP` entries (first cell as the tag; the header row is dropped).
 *
 * @param lines the Markdown lines of one section, without its `##` heading
 * @param skipFirstCode leave out the section's first code block
 */
export function blocks(lines: readonly string[], skipFirstCode = false): string[] {
  const out: string[] = [];
  let skip = skipFirstCode;
  let i = 0;
  while (i < lines.length) {
    const text = lines[i];
    if (text.trim() === "") {
      i++;
    } else if (text.startsWith("```")) {
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      i++;
      if (skip) {
        skip = false;
        continue;
      }
      out.push(".PP", ".RS 4", ".nf", ...code.map((c) => line(escape(c))), ".fi", ".RE");
    } else if (text.startsWith("### ")) {
      out.push(`.SS ${inline(text.slice(4))}`);
      i++;
    } else if (text.startsWith("|")) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i].startsWith("|"); i++) rows.push(cells(lines[i]));
      for (const row of rows.slice(1).filter((r) => !r.every((c) => /^:?-+:?$/.test(c)))) {
        out.push(".TP", line(inline(row[0])), line(inline(row.slice(1).join(" "))));
      }
    } else if (/^- /.test(text)) {
      let item = text.slice(2);
      for (i++; i < lines.length && /^ {2}\S/.test(lines[i]); i++) item += ` ${lines[i].trim()}`;
      out.push(".IP \\(bu 2", line(inline(item)));
    } else {
      const paragraph: string[] = [];
      for (; i < lines.length && lines[i].trim() !== "" && !/^(```|#|\||- )/.test(lines[i]); i++) {
        paragraph.push(lines[i].trim());
      }
      out.push(".PP", line(inline(paragraph.join(" "))));
    }
  }
  return out;
}

/** The lines of the README's level-2 section `title` (without its heading), up to the next one. */
function section(readme: readonly string[], title: string): string[] {
  const start = readme.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`README.md has no "## ${title}" section`);
  const end = readme.findIndex((l, index) => index > start && l.startsWith("## "));
  return readme.slice(start + 1, end < 0 ? readme.length : end);
}

/** The first paragraph of the README after its title. */
function description(readme: readonly string[]): string {
  const start = readme.findIndex((l) => l.startsWith("# ")) + 1;
  const paragraph: string[] = [];
  for (const l of readme.slice(start)) {
    if (l.trim() === "") {
      if (paragraph.length > 0) break;
      continue;
    }
    paragraph.push(l.trim());
  }
  return paragraph.join(" ");
}

/**
 * The text of `docs/proxy-server.1` for the README text `readme`.
 *
 * @example
 * ```ts
 * renderManPage(await readFile("README.md", "utf8")).startsWith(".TH PROXY-SERVER 1"); // true
 * ```
 */
export function renderManPage(readme: string): string {
  const lines = readme.split("\n");
  const out: string[] = [
    `.\\" Generated by scripts/gen-man.ts from src/cli/options.ts and README.md; do not edit.`,
    `.TH PROXY-SERVER 1 "" "proxy-server ${pkg.version}" "User Commands"`,
    // No hyphenation: option names and paths must be copied as they are.
    ".nh",
    ".SH NAME",
    `proxy-server \\- ${escape(pkg.description)}`,
    ".SH SYNOPSIS",
    ".nf",
    ...SYNOPSIS.map((s) => line(`\\fBproxy-server\\fR${escape(s.slice("proxy-server".length))}`)),
    ".fi",
    ".SH DESCRIPTION",
    ".PP",
    line(inline(description(lines))),
    ".SH OPTIONS",
  ];
  for (const option of OPTION_TABLE) {
    const long = `\\fB\\-\\-${escape(option.long)}\\fR${
      option.value === undefined ? "" : ` \\fI${escape(option.value)}\\fR`
    }`;
    out.push(
      ".TP",
      option.short === undefined ? long : `\\fB\\-${option.short}\\fR, ${long}`,
      line(inline(option.help)),
    );
  }
  for (const title of README_SECTIONS) {
    out.push(`.SH ${title.toUpperCase()}`, ...blocks(section(lines, title), title === "Command line"));
  }
  out.push(".SH ENVIRONMENT");
  for (const env of ENVIRONMENT_TABLE) out.push(".TP", `\\fB${escape(env.name)}\\fR`, line(inline(env.help)));
  out.push(".SH EXIT STATUS");
  for (const status of EXIT_STATUS_TABLE) out.push(".TP", `\\fB${status.code}\\fR`, line(inline(status.help)));
  out.push(
    ".SH SEE ALSO",
    ".PP",
    "\\fBdocs/config.md\\fR (every config key, generated from the schema), \\fBconfig.schema.json\\fR " +
      "(the JSON Schema, also printed by \\fB\\-\\-dump\\-config\\-schema\\fR), and \\fBREADME.md\\fR.",
  );
  return `${out.join("\n")}\n`;
}

async function main(args: string[]): Promise<number> {
  const text = renderManPage(await readFile(README, "utf8"));
  if (args.includes("--check")) {
    const committed = await readFile(TARGET, "utf8").catch(() => undefined);
    if (committed === text) return 0;
    console.error(
      `${TARGET} is ${committed === undefined ? "missing" : "stale"}; run \`bun scripts/gen-man.ts\` and commit it`,
    );
    return 1;
  }
  await writeFile(TARGET, text);
  console.error(`wrote ${TARGET}`);
  return 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
