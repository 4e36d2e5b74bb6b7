/**
 * Access control and limits (issue 9): the top-level `access_rules` and
 * `default_action`, and the pieces the listener and user schemas add
 * (`allowed_clients`, `source_addresses`, connection limits and rates).
 * The grammars (CIDR blocks, destinations, ports) are those of
 * `src/access/`, which compiles the loaded values; this file only checks
 * them and words the problems.
 *
 * @module
 */

import * as v from "valibot";
import { ACCESS_COMMANDS, parseCidr, parseDestination, parsePortRange } from "../../access/index.ts";
import { LISTEN_PATTERN, listenKey, parseListenAddress } from "./address.ts";
import { parseThreshold, THRESHOLD_PATTERN } from "./threshold.ts";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";

/**
 * Approximate grammar of an IP address or CIDR block, for the JSON Schema
 * `pattern`; `parseCidr` is the exact rule.
 */
export const CIDR_PATTERN =
  "^(?:\\d{1,3}(?:\\.\\d{1,3}){3}(?:/\\d{1,2})?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:/\\d{1,3})?)$";

/** Approximate grammar of a `destinations` entry (a CIDR block or a domain name, maybe with a leading dot). */
export const DESTINATION_PATTERN =
  "^(?:\\d{1,3}(?:\\.\\d{1,3}){3}(?:/\\d{1,2})?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:/\\d{1,3})?|\\.?[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*\\.?)$";

/** Grammar of a port range string (`"25"`, `"1024-65535"`) for the JSON Schema. */
export const PORT_RANGE_PATTERN = "^\\s*\\d{1,5}\\s*(?:-\\s*\\d{1,5}\\s*)?$";

/** `expected ..., got X (reason)` */
function expected(what: string, input: unknown, reason?: string): string {
  return `expected ${what}, got ${got(input)}${reason ? ` (${reason})` : ""}`;
}

const A_CIDR = 'an IP address or CIDR block such as "10.0.0.0/8"';

/** One IP address or CIDR block, IPv4 or IPv6; the text as written on output. */
export const CidrEntry = v.pipe(
  v.string((issue) => expected(A_CIDR, issue.input)),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const parsed = parseCidr(dataset.value);
    if (!parsed.ok) addIssue({ message: expected(A_CIDR, dataset.value, parsed.reason) });
  }),
  v.metadata({ pattern: CIDR_PATTERN }),
);

/**
 * An array of matcher entries: the wrong type says what the array holds,
 * an empty array says to leave the key out instead.
 */
function list<TItem extends v.GenericSchema>(item: TItem, what: string, empty: string, description: string) {
  return v.optional(v.pipe(
    v.array(item, (issue) => expected(`an array of ${what}`, issue.input)),
    v.minLength(1, `expected at least one of ${what} (${empty}), got an empty array`),
    v.description(description),
  ));
}

/**
 * An optional list of IP addresses and CIDR blocks.
 *
 * @param description the key's documentation
 * @param empty what leaving the key out means, for the empty-array message
 */
export function cidrList(description: string, empty: string) {
  return list(CidrEntry, 'IP addresses or CIDR blocks such as "10.0.0.0/8"', empty, description);
}

/** `"allow"` or `"deny"`. */
function action(description: string) {
  return v.pipe(
    v.picklist(["allow", "deny"], (issue) => expected('"allow" or "deny"', issue.input)),
    v.description(description),
  );
}

const A_DESTINATION = 'a CIDR block such as "10.0.0.0/8" or a domain name such as "example.com" or ".example.com"';
const A_PORT = 'a port 0-65535 or a range such as "1024-65535"';
const A_LISTENER = 'a listen address "IP:PORT" of one of proxy_listeners';

/** One `ports` entry: a number, or a string with a number or a range. */
const PortEntry = v.union([
  v.pipe(
    v.number(),
    v.integer((issue) => expected(A_PORT, issue.input)),
    v.minValue(0, (issue) => expected(A_PORT, issue.input)),
    v.maxValue(65535, (issue) => expected(A_PORT, issue.input)),
  ),
  v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const parsed = parsePortRange(dataset.value);
      if (!parsed.ok) addIssue({ message: expected(A_PORT, dataset.value, parsed.reason) });
    }),
    v.metadata({ pattern: PORT_RANGE_PATTERN }),
  ),
], (issue) => expected(A_PORT, issue.input));

/** One `access_rules` entry. */
export const AccessRuleSchema = v.pipe(
  strictObject({
    action: action('What a match does: "allow" (Dante: pass) or "deny" (Dante: block). Required.'),
    clients: cidrList(
      'Client addresses: IP addresses and CIDR blocks, IPv4 or IPv6 ("10.0.0.0/8", "2001:db8::/32"); an ' +
        "IPv4-mapped IPv6 client (::ffff:a.b.c.d) matches its IPv4 form. Dante: from.",
      "leave clients out to match every client",
    ),
    users: list(
      v.pipe(v.string((issue) => expected("a username", issue.input)), v.minLength(1, 'expected a username, got ""')),
      "usernames",
      "leave users out to match every user",
      "RFC 1929 usernames, each one of users[].username, compared exactly; a request without " +
        "authentication never matches a rule with users. Dante: user.",
    ),
    listeners: list(
      v.pipe(
        v.string((issue) => expected(A_LISTENER, issue.input)),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const parsed = parseListenAddress(dataset.value);
          if (!parsed.ok) addIssue({ message: expected(A_LISTENER, dataset.value, parsed.reason) });
        }),
        v.metadata({ pattern: LISTEN_PATTERN }),
      ),
      "listen addresses",
      "leave listeners out to match every listener",
      'Listeners, by their listen address as in proxy_listeners[].listen ("0.0.0.0:1080"; the same ' +
        'address spelled differently, "[0::1]:1080" for "[::1]:1080", also matches). Dante: the internal address.',
    ),
    commands: list(
      v.picklist([...ACCESS_COMMANDS], (issue) => expected('"connect" or "bind"', issue.input)),
      'commands ("connect", "bind")',
      "leave commands out to match every command",
      'SOCKS5 commands: "connect", "bind" (KumoMTA\'s BIND of a source address; the CONNECT after it is a ' +
        '"connect"). Dante: command.',
    ),
    destinations: list(
      v.pipe(
        v.string((issue) => expected(A_DESTINATION, issue.input)),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const parsed = parseDestination(dataset.value);
          if (!parsed.ok) addIssue({ message: expected(A_DESTINATION, dataset.value, parsed.reason) });
        }),
        v.metadata({ pattern: DESTINATION_PATTERN }),
      ),
      "CIDR blocks or domain names",
      "leave destinations out to match every destination",
      'Destinations: CIDR blocks and IP addresses ("10.0.0.0/8", "2001:db8::1") match the destination ' +
        'address; domain names match a destination given as a name: "example.com" that name only, ' +
        '".example.com" example.com itself and every name below it (Dante\'s convention); case-insensitive. ' +
        "A name is checked by name before it is resolved and again with each address it resolves to, " +
        "so a name resolving into a denied block is refused. A rule with destinations never matches a " +
        "BIND. Dante: to.",
    ),
    ports: list(
      PortEntry,
      'ports or port ranges (25, "1024-65535")',
      "leave ports out to match every port",
      'Destination ports: numbers (25) and inclusive ranges as strings ("1024-65535"). A rule with ports ' +
        "never matches a BIND. Dante: to ... port.",
    ),
    source_addresses: cidrList(
      "The source address the client chose with KumoMTA's BIND <source-ip>:0: matches that BIND and the " +
        "CONNECT after it; never matches a CONNECT without a BIND. IP addresses and CIDR blocks.",
      "leave source_addresses out to match every source",
    ),
  }, 'an access rule ({ "action": "allow" or "deny", matchers... })'),
  v.description(
    "One rule: action, and any of the matchers clients, users, listeners, commands, destinations, ports, " +
      "source_addresses. It matches a request when every matcher it has matches (any entry of a matcher " +
      "may); a rule with no matcher matches every request.",
  ),
);

/** `access_rules`: ordered, first match wins. */
export const AccessRulesSchema = v.pipe(
  v.array(AccessRuleSchema, (issue) => expected("an array of access rules", issue.input)),
  v.description(
    "Rules for every SOCKS5 request, in order; the first rule that matches decides (allow, or deny with " +
      "REP 0x02), and default_action applies when none does. Checked after authentication, for each " +
      "request (BIND and CONNECT). Dante: client pass/block, socks pass/block. Default: none.",
  ),
  v.examples([[
    { action: "deny", destinations: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"] },
    { action: "allow", users: ["mta1"], ports: [25, 587, 465] },
    { action: "deny" },
  ]]),
);

/** `default_action`. */
export const DefaultActionSchema = action(
  'What a request that no access_rules rule matches gets: "allow" or "deny". Default: "allow". ' +
    "Dante: the implicit block at the end of its rules (whose default is deny).",
);

/** `"N/period"`: at most N new connections per period, per client IP. */
export function connectionRate(description: string) {
  return v.optional(v.pipe(
    v.string((issue) => expected('a rate "N/period" such as "100/1s" or "10/1m"', issue.input)),
    v.regex(
      new RegExp(THRESHOLD_PATTERN),
      (issue) => expected('a rate "N/period" such as "100/1s" or "10/1m"', issue.input),
    ),
    v.check(
      // A string off the grammar was reported just above.
      (text) => !new RegExp(THRESHOLD_PATTERN).test(text) || parseThreshold(text) !== undefined,
      (issue) => expected("a rate with a count and a period of at least 1", issue.input),
    ),
    v.description(description),
    v.examples(["100/1s", "600/1m"]),
    v.transform((text: string) => parseThreshold(text)!),
  ));
}

/** An optional whole number of at least 1. */
export function positiveCount(what: string, description: string) {
  return v.optional(v.pipe(
    v.number((issue) => expected(`a whole number of ${what} of at least 1`, issue.input)),
    v.integer((issue) => expected(`a whole number of ${what} of at least 1`, issue.input)),
    v.minValue(1, (issue) => expected(`a whole number of ${what} of at least 1`, issue.input)),
    v.description(description),
  ));
}

/** A path item of key `key` inside `input` for a rawCheck issue. */
function step(input: unknown, key: string | number): v.IssuePathItem {
  const value = (input as Record<string | number, unknown>)[key];
  return typeof key === "number"
    ? { type: "array", origin: "value", input: input as unknown[], key, value }
    : { type: "object", origin: "value", input: input as Record<string, unknown>, key, value };
}

/**
 * Cross-references of `access_rules`, checked on the whole config: every
 * rule's `users` entry names a configured user, and every `listeners`
 * entry a configured listener (the same address, however spelled).
 * Reported at `$.access_rules[i].users[j]` / `.listeners[j]`. Skipped
 * while `users` or `proxy_listeners` themselves have malformed entries.
 */
export function accessRefsCheck<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const config = dataset.value as Record<string, unknown> | null;
    if (config === null || typeof config !== "object") return;
    const rules = config.access_rules;
    if (!Array.isArray(rules)) return;
    const users = config.users ?? [];
    const listeners = config.proxy_listeners;
    const names = Array.isArray(users) && users.every((u) => typeof u?.username === "string")
      ? users.map((u) => u.username as string)
      : undefined;
    const keys = Array.isArray(listeners) ? listeners.map((l) => listenerKeyOf(l?.listen)) : [];
    const listenKeys = keys.every((k) => k !== undefined) ? new Set(keys) : undefined;
    const listenTexts = Array.isArray(listeners) ? listeners.map((l) => l?.listen?.text ?? l?.listen) : [];
    rules.forEach((rule: unknown, i) => {
      if (rule === null || typeof rule !== "object") return;
      const r = rule as Record<string, unknown>;
      const at = (
        key: string,
        j: number,
      ) => [step(config, "access_rules"), step(rules, i), step(r, key), step(r[key], j)];
      if (names !== undefined && Array.isArray(r.users)) {
        r.users.forEach((name: unknown, j) => {
          if (typeof name !== "string" || name === "" || names.includes(name)) return;
          addIssue({
            message: `unknown user ${JSON.stringify(name)}; ` +
              (names.length === 0 ? "no users are defined" : `expected one of: ${names.join(", ")}`),
            path: at("users", j) as [v.IssuePathItem, ...v.IssuePathItem[]],
          });
        });
      }
      if (listenKeys !== undefined && Array.isArray(r.listeners)) {
        r.listeners.forEach((text: unknown, j) => {
          if (typeof text !== "string") return;
          const parsed = parseListenAddress(text);
          if (!parsed.ok || listenKeys.has(listenKey(parsed.address))) return;
          addIssue({
            message: `unknown listener ${JSON.stringify(text)}; expected the listen address of one of ` +
              `proxy_listeners: ${listenTexts.join(", ")}`,
            path: at("listeners", j) as [v.IssuePathItem, ...v.IssuePathItem[]],
          });
        });
      }
    });
  });
}

/** The canonical key of a `listen` value, parsed (an object) or not (a string), or undefined. */
function listenerKeyOf(listen: unknown): string | undefined {
  if (typeof listen === "string") {
    const parsed = parseListenAddress(listen);
    return parsed.ok ? listenKey(parsed.address) : undefined;
  }
  const l = listen as { host?: unknown; port?: unknown } | null;
  if (typeof l?.host !== "string" || typeof l.port !== "number" || l.host === "") return undefined;
  return listenKey({ host: l.host, port: l.port });
}
