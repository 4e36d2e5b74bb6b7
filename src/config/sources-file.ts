/**
 * KumoMTA sources-helper files (`sources_file`): the TOML (or JSON) file
 * that KumoMTA's `policy-extras.sources` reads, accepted as it is:
 *
 * ```toml
 * [source."ip-1"]
 * socks5_proxy_server = "proxy.example.com:1080"
 * socks5_proxy_source_address = "10.0.0.1"
 * ehlo_domain = "mta1.example.com"      # MTA-only: ignored with a notice
 *
 * [pool."BestReputation"."ip-1"]        # weight defaults to 1
 * [pool."MediumReputation"."ip-2"]
 * weight = 2
 * ```
 *
 * Each `[source.NAME]` table is validated with the same schema as an entry
 * of `sources`; each `[pool.POOL.SOURCE]` table is a pool entry. As in
 * KumoMTA, `socks5_proxy_password` is a key source: a string is the path
 * of a file holding the password, `{ key_data = "..." }` the password
 * itself. TOML is parsed with `smol-toml`.
 *
 * @module
 */

import * as v from "valibot";
import { parse as parseToml, TomlError } from "smol-toml";
import { dirname, isAbsolute, join } from "node:path";
import { type ConfigProblem, issuesToProblems, jsonKey, type Locate, withPositions } from "./errors.ts";
import type { ConfigIo } from "./io.ts";
import { documentProblems, parseJson } from "./json.ts";
import { fallbackMessage, got } from "./schema/messages.ts";
import type { PoolConfig } from "./schema/pools.ts";
import { IGNORED_SOURCE_KEYS, type SourceConfig, SourceSchema } from "./schema/sources.ts";
import { strictObject } from "./schema/object.ts";
import { readSecretFiles, withSecretSource } from "./schema/secret.ts";

/**
 * Keys of `kumo.make_egress_source` that only matter to an MTA (EHLO name,
 * destination port mapping, cache lifetime), and `name`, which the table key
 * already gives; ignored here with a notice.
 */
export const MTA_ONLY_KEYS = IGNORED_SOURCE_KEYS;

/** The schema of a sources-helper file, KumoMTA's `SourcesHelperConfig`. */
const SourcesHelperSchema = strictObject({
  source: v.optional(v.record(v.string(), SourceSchema)),
  pool: v.optional(v.record(
    v.string(),
    v.record(
      v.string(),
      strictObject({
        weight: v.optional(
          v.pipe(
            v.number(),
            v.integer((issue) => `expected a whole number, got ${got(issue.input)}`),
            v.minValue(0, (issue) => `expected 0 or more, got ${got(issue.input)}`),
          ),
          1,
        ),
      }, '{ "weight" }'),
    ),
  )),
}, 'a sources-helper file with "source" and "pool" tables');

/** What the sources-helper files of a config contribute. */
export interface SourcesFiles {
  /** Sources by name, with the file each came from. */
  sources: Map<string, { file: string; source: SourceConfig }>;
  /** Pools by name (entries appended across files, as KumoMTA merges them), with the first file. */
  pools: Map<string, { file: string; pool: PoolConfig }>;
  /** Problems found in the files. */
  problems: ConfigProblem[];
  /** Where JSON paths are in each `.json` file read (TOML files have none). */
  locators: Map<string, Locate>;
}

/**
 * Parse TOML or JSON text (JSON when the name ends in `.json`); problems
 * come with their file and JSON path (`$` for a syntax error, the key's
 * path for a key repeated in a JSON object).
 */
function parseText(
  path: string,
  text: string,
): { ok: true; value: unknown; locate?: Locate } | { ok: false; problems: ConfigProblem[] } {
  if (path.toLowerCase().endsWith(".json")) {
    const json = parseJson(text);
    const problems = documentProblems(path, json);
    return problems.length > 0 || !json.ok ? { ok: false, problems } : json;
  }
  try {
    return { ok: true, value: parseToml(text) };
  } catch (error) {
    if (error instanceof TomlError) {
      const first = error.message.split("\n")[0];
      const message = `not valid TOML at line ${error.line}, column ${error.column}: ${first}`;
      return { ok: false, problems: [{ file: path, path: "$", line: error.line, column: error.column, message }] };
    }
    throw error;
  }
}

/**
 * Drop MTA-only keys (one notice per key and file, naming the sources) and
 * turn KumoMTA's key-source password into a secret reference.
 */
function adapt(value: unknown, path: string, notice: (text: string) => void): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const source = (value as Record<string, unknown>).source;
  if (source === null || typeof source !== "object" || Array.isArray(source)) return value;
  const ignored = new Map<string, string[]>();
  const adapted: Record<string, unknown> = {};
  for (const [name, params] of Object.entries(source)) {
    if (params === null || typeof params !== "object" || Array.isArray(params)) {
      adapted[name] = params;
      continue;
    }
    const copy: Record<string, unknown> = { ...params };
    for (const key of MTA_ONLY_KEYS) {
      if (!(key in copy)) continue;
      delete copy[key];
      ignored.set(key, [...(ignored.get(key) ?? []), name]);
    }
    const password = copy.socks5_proxy_password;
    if (typeof password === "string") copy.socks5_proxy_password = { file: password };
    else if (password !== null && typeof password === "object" && "key_data" in password) {
      copy.socks5_proxy_password = (password as { key_data: unknown }).key_data;
    }
    adapted[name] = copy;
  }
  for (const [key, names] of ignored) {
    notice(
      `${path}: ignoring the MTA-only key "${key}" (in source ${names.map((n) => JSON.stringify(n)).join(", ")})`,
    );
  }
  return { ...(value as Record<string, unknown>), source: adapted };
}

/**
 * Read, parse and validate the sources-helper files `paths` (relative to the
 * directory of `configPath`) and collect their sources and pools. Never
 * rejects: unreadable or invalid files become problems reported under the
 * file's own name, with JSON paths into it (`$.source["ip-1"].source_address`).
 *
 * @param paths the `sources_file` value, as a list
 * @param io file and environment access (and notices)
 * @param configPath the config file the paths are relative to
 * @param options `resolveSecrets: false` checks the files' password
 *   references for form only, reading none of them (default `true`)
 */
export async function readSourcesFiles(
  paths: readonly string[],
  io: ConfigIo,
  configPath?: string,
  options: { resolveSecrets?: boolean } = {},
): Promise<SourcesFiles> {
  const result: SourcesFiles = { sources: new Map(), pools: new Map(), problems: [], locators: new Map() };
  const base = configPath === undefined ? undefined : dirname(configPath);
  for (const given of paths) {
    const path = base === undefined || isAbsolute(given) ? given : join(base, given);
    let text: string;
    try {
      text = await io.readTextFile(path);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      result.problems.push({ file: path, path: "$", message: `cannot read the sources file: ${why}` });
      continue;
    }
    const parsed = parseText(path, text);
    if (!parsed.ok) {
      result.problems.push(...parsed.problems);
      continue;
    }
    if (parsed.locate !== undefined) result.locators.set(path, parsed.locate);
    const value = adapt(parsed.value, path, (line) => io.notice?.(line));
    const secrets = await readSecretFiles(value, io, path, { resolve: options.resolveSecrets });
    const checked = withSecretSource(
      secrets,
      () => v.safeParse(SourcesHelperSchema, value, { message: fallbackMessage }),
    );
    if (!checked.success) {
      result.problems.push(...withPositions(issuesToProblems(checked.issues, path), result.locators));
      continue;
    }
    for (const [name, source] of Object.entries(checked.output.source ?? {})) {
      const earlier = result.sources.get(name);
      if (earlier !== undefined) {
        result.problems.push({
          file: path,
          path: `$.source${jsonKey(name)}`,
          message: `source ${JSON.stringify(name)} is already defined in ${earlier.file}`,
        });
        continue;
      }
      result.sources.set(name, { file: path, source });
    }
    for (const [name, entries] of Object.entries(checked.output.pool ?? {})) {
      const pool = result.pools.get(name) ?? { file: path, pool: { entries: [] } };
      for (const [source, { weight }] of Object.entries(entries)) pool.pool.entries.push({ name: source, weight });
      result.pools.set(name, pool);
    }
  }
  return result;
}
