/**
 * The grammar of rule matchers other than plain CIDR lists: destinations
 * (CIDR blocks and domain names, `".example.com"` for a domain and every
 * name below it, as Dante writes them) and ports (numbers and
 * `"low-high"` ranges). Each grammar has a parser that says what is wrong
 * (the config schema uses it for its messages) and a compiler to the form
 * matched at request time.
 *
 * @module
 */

import { type Cidr, type CidrSet, compileCidrSet, inRanges, mergeRanges, parseCidr } from "./ip.ts";

/** Longest domain name, in characters, without the trailing dot (RFC 1035). */
const MAX_NAME = 253;
/** One DNS label: letters, digits, `-` and `_`, 1 to 63 characters. */
const LABEL = /^[a-z0-9_-]{1,63}$/;

/**
 * A domain name as matched: lower case, one trailing dot removed
 * (`"WWW.Example.COM."` is `"www.example.com"`).
 */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** One parsed `destinations` entry. */
export type DestinationPattern =
  /** A CIDR block or address: matches a destination address inside it. */
  | { kind: "cidr"; cidr: Cidr }
  /** `"example.com"`: matches that name only. */
  | { kind: "name"; name: string }
  /** `".example.com"`: matches `example.com` and every name below it. */
  | { kind: "suffix"; name: string };

/** Outcome of {@linkcode parseDestination}. */
export type DestinationParseResult = { ok: true; pattern: DestinationPattern } | { ok: false; reason: string };

/**
 * Parse one `destinations` entry: an IP address or CIDR block
 * (`"10.0.0.0/8"`, `"2001:db8::/32"`, `"192.0.2.1"`), a domain name
 * (`"example.com"`: that name only) or a domain with a leading dot
 * (`".example.com"`: `example.com` itself and every name below it, Dante's
 * convention). Names are case-insensitive; a trailing dot is ignored.
 *
 * @example
 * ```ts
 * parseDestination(".Example.com"); // { ok: true, pattern: { kind: "suffix", name: "example.com" } }
 * parseDestination("*.example.com"); // { ok: false, reason: '... write ".example.com" ...' }
 * ```
 */
export function parseDestination(text: string): DestinationParseResult {
  if (text.includes("/") || text.includes(":") || /^[0-9.]+$/.test(text)) {
    const parsed = parseCidr(text);
    return parsed.ok ? { ok: true, pattern: { kind: "cidr", cidr: parsed.cidr } } : parsed;
  }
  if (text.startsWith("*")) {
    return {
      ok: false,
      reason: 'wildcards are not supported; write ".example.com" for a domain and every name below it',
    };
  }
  const suffix = text.startsWith(".");
  const name = normalizeName(suffix ? text.slice(1) : text);
  if (name === "") {
    return { ok: false, reason: "the name is empty (leave destinations out to match every destination)" };
  }
  if (name.length > MAX_NAME) return { ok: false, reason: `the name is longer than ${MAX_NAME} characters` };
  for (const label of name.split(".")) {
    if (!LABEL.test(label)) {
      return {
        ok: false,
        reason: label === ""
          ? "the name has an empty label"
          : `label ${JSON.stringify(label)} is not 1 to 63 letters, digits, "-" or "_"`,
      };
    }
  }
  return { ok: true, pattern: { kind: suffix ? "suffix" : "name", name } };
}

/**
 * A compiled `destinations` list: names in two sets, blocks in a
 * {@linkcode CidrSet}.
 */
export interface DestinationSet {
  /** Names matched exactly (`"example.com"`). */
  readonly names: ReadonlySet<string>;
  /** Names matched with everything below them (`".example.com"` is stored as `"example.com"`). */
  readonly suffixes: ReadonlySet<string>;
  /** The blocks, or `null` when the list has none. */
  readonly cidrs: CidrSet | null;
}

/**
 * Compile a `destinations` list ({@linkcode parseDestination} grammar).
 *
 * @throws {TypeError} on an entry the grammar refuses
 */
export function compileDestinations(entries: readonly string[]): DestinationSet {
  const names = new Set<string>();
  const suffixes = new Set<string>();
  const blocks: string[] = [];
  for (const entry of entries) {
    const parsed = parseDestination(entry);
    if (!parsed.ok) throw new TypeError(`not a destination: ${JSON.stringify(entry)} (${parsed.reason})`);
    const p = parsed.pattern;
    if (p.kind === "cidr") blocks.push(entry);
    else (p.kind === "name" ? names : suffixes).add(p.name);
  }
  return { names, suffixes, cidrs: blocks.length > 0 ? compileCidrSet(blocks) : null };
}

/**
 * The names a suffix pattern can match `name` through: the name itself and
 * each parent (`"a.b.com"` gives `["a.b.com", "b.com", "com"]`). Computed
 * once per request, then each rule is a few set lookups.
 */
export function nameSuffixes(name: string): string[] {
  const out = [name];
  for (let dot = name.indexOf("."); dot >= 0; dot = name.indexOf(".", dot + 1)) out.push(name.slice(dot + 1));
  return out;
}

/**
 * Whether `name` (normalized) matches one of the set's name patterns;
 * `suffixes` is {@linkcode nameSuffixes} of it.
 */
export function matchesName(set: DestinationSet, name: string, suffixes: readonly string[]): boolean {
  if (set.names.has(name)) return true;
  if (set.suffixes.size === 0) return false;
  for (let i = 0; i < suffixes.length; i++) if (set.suffixes.has(suffixes[i])) return true;
  return false;
}

/** Outcome of {@linkcode parsePortRange}: an inclusive range, or what is wrong. */
export type PortParseResult = { ok: true; low: number; high: number } | { ok: false; reason: string };

/**
 * Parse one `ports` entry: a port number (`25`), or a string with a number
 * (`"25"`) or an inclusive range (`"1024-65535"`). Ports are 0 to 65535.
 *
 * @example
 * ```ts
 * parsePortRange("1024-65535"); // { ok: true, low: 1024, high: 65535 }
 * parsePortRange("80-20"); // { ok: false, reason: "the range starts above its end" }
 * ```
 */
export function parsePortRange(value: unknown): PortParseResult {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > 65535) {
      return { ok: false, reason: "a port is a whole number from 0 to 65535" };
    }
    return { ok: true, low: value, high: value };
  }
  if (typeof value !== "string") return { ok: false, reason: "a port is a number or a string" };
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(value);
  if (!m) return { ok: false, reason: 'write a port as 25 or "25", a range as "1024-65535"' };
  const low = Number(m[1]);
  const high = m[2] === undefined ? low : Number(m[2]);
  if (low > 65535 || high > 65535) return { ok: false, reason: "ports go up to 65535" };
  if (low > high) return { ok: false, reason: "the range starts above its end" };
  return { ok: true, low, high };
}

/**
 * Compile a `ports` list into sorted, merged ranges for
 * {@linkcode matchesPort}.
 *
 * @throws {TypeError} on an entry {@linkcode parsePortRange} refuses
 */
export function compilePorts(entries: readonly (number | string)[]): Uint32Array {
  return mergeRanges(entries.map((entry) => {
    const parsed = parsePortRange(entry);
    if (!parsed.ok) throw new TypeError(`not a port or port range: ${JSON.stringify(entry)} (${parsed.reason})`);
    return [parsed.low, parsed.high] as [number, number];
  }));
}

/** Whether `port` is in the compiled ranges (binary search). */
export function matchesPort(ranges: Uint32Array, port: number): boolean {
  return inRanges(ranges, port);
}
