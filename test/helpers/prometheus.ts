/**
 * Test helper: read the Prometheus text exposition format (version 0.0.4)
 * independently of prom-client, scrape a live `/metrics` with curl, and run
 * the real `promtool check metrics`.
 */
import { spawn } from "node:child_process";
import { httpRequest } from "./http.ts";

/** One sample line: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** `# TYPE` and `# HELP` of a family. */
export interface Family {
  type?: string;
  help?: string;
}

/** Unescape a label value (`\\`, `\"`, `\n`). */
function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** Parse an exposition into families (from `# TYPE` / `# HELP`) and samples. */
export function parseExposition(text: string): { families: Map<string, Family>; samples: Sample[] } {
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, f = {});
    return f;
  };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (TYPE|HELP) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") family(meta[2]).type = meta[3];
      else family(meta[2]).help = meta[3].replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = unescape(l[2]);
    }
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    samples.push({ name: m[1], labels, value });
  }
  return { families, samples };
}

/**
 * The value of the sample `name` whose labels are exactly `labels`, or
 * `undefined` when there is none.
 */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return parseExposition(text).samples.find((s) =>
    s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want
  )
    ?.value;
}

/**
 * Scrape `url` (a `/metrics` endpoint) until `ready(text)` holds, at most
 * `tries` times 100 ms apart (the server updates metrics right after a
 * client sees a close); resolves with the last text either way, so the
 * caller's assertions say what is wrong.
 */
export async function scrapeUntil(url: string, ready: (text: string) => boolean, tries = 50): Promise<string> {
  let text = "";
  for (let i = 0; i < tries; i++) {
    text = (await httpRequest(url)).body;
    if (ready(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

/** Run `promtool check metrics` on `text`; resolves with its exit code and output. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => output += d.toString());
    child.stderr.on("data", (d) => output += d.toString());
    child.on("error", reject);
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(text);
  });
}
