/**
 * `access_rules`: an ordered list of allow/deny rules, first match wins,
 * `default_action` when none matches (Dante's `client pass/block` and
 * `socks pass/block`, in JSON). Compiled once per config; a check is one
 * scan of the compiled list with no parsing and no allocation beyond the
 * request's own addresses.
 *
 * ## Destinations given as names
 *
 * A request's destination is an address (ATYP IPv4/IPv6) or a name (ATYP
 * DOMAINNAME). A rule's `destinations` matches when any entry matches:
 * a name pattern matches the request's name, a CIDR block matches the
 * request's address. A name is checked twice:
 *
 * 1. {@linkcode RuleSet.checkRequest} before resolving, with the name only.
 *    A rule whose destination patterns do not match the name but which has
 *    CIDR blocks cannot be decided yet (its blocks may contain what the name
 *    resolves to). The answer's `action` is the verdict by name alone (CIDR
 *    blocks do not match a bare name) and `needsAddress` says whether an
 *    undecided rule before the deciding one could change that verdict: then
 *    the caller must resolve and check each address.
 * 2. {@linkcode RuleSet.checkResolved} per resolved address, with the name
 *    and the address: name patterns match the name, blocks match the
 *    address. This is the final verdict for that address.
 *
 * So `deny destinations: ["10.0.0.0/8"]` refuses a name that resolves into
 * 10/8 (DNS rebinding gains nothing), and `allow destinations:
 * [".example.com"]` followed by a catch-all deny allows every address of
 * `www.example.com`: the name still matches when the address is known.
 *
 * One file because it is one compiler: the rule grammar (matchers,
 * destinations, port ranges) and the compiled matcher that evaluates it,
 * which must stay in step.
 *
 * @module
 */

import { type CidrSet, compileCidrSet, type Ip, parseIp } from "./ip.ts";
import {
  compileDestinations,
  compilePorts,
  type DestinationSet,
  matchesName,
  matchesPort,
  nameSuffixes,
  normalizeName,
} from "./patterns.ts";

/** What a rule or `default_action` does. */
export type AccessAction = "allow" | "deny";

/** A SOCKS5 command a rule can name (UDP ASSOCIATE is not served). */
export type AccessCommand = "connect" | "bind";

/** The commands, in the order the docs list them. */
export const ACCESS_COMMANDS: readonly AccessCommand[] = ["connect", "bind"];

/**
 * One `access_rules` entry as configured (the config schema's output). A
 * rule matches a request when every matcher it has matches; a matcher
 * matches when any of its entries does. No matcher: matches everything.
 */
export interface AccessRuleConfig {
  /** What a match does. */
  action: AccessAction;
  /** Client addresses: IP addresses and CIDR blocks. */
  clients?: readonly string[];
  /** RFC 1929 usernames; never matches a request without authentication. */
  users?: readonly string[];
  /** Listen addresses as written in `proxy_listeners[].listen`. */
  listeners?: readonly string[];
  /** SOCKS5 commands. */
  commands?: readonly AccessCommand[];
  /** CIDR blocks and domain names (`".example.com"`: the domain and all below it). */
  destinations?: readonly string[];
  /** Destination ports and `"low-high"` ranges. */
  ports?: readonly (number | string)[];
  /** The source address a BIND asks for (and a CONNECT after it goes out from). */
  source_addresses?: readonly string[];
}

/**
 * A request to check. Addresses may be given as text or, cheaper, as
 * {@linkcode Ip}s parsed once per connection with `parseIp`.
 *
 * - `CONNECT` without a preceding `BIND`: `command: "connect"`,
 *   `destination` and `port` from DST.ADDR and DST.PORT.
 * - KumoMTA's `BIND <source-ip>:0`: `command: "bind"`, `sourceAddress` the
 *   address asked for, no `destination` or `port` (rules with
 *   `destinations` or `ports` do not match it).
 * - `CONNECT` after that `BIND`: `command: "connect"` with the destination,
 *   port and the bound `sourceAddress`.
 */
export interface AccessRequest {
  /** The listener's listen text (`proxy_listeners[].listen` as written; the metrics label). */
  listener: string;
  /** The client's address (the accepted socket's peer). */
  client: string | Ip;
  /** The authenticated username; absent without RFC 1929 authentication. */
  user?: string;
  /** The SOCKS5 command. */
  command: AccessCommand;
  /** DST.ADDR: a domain name or an IP literal (text that parses as an IP is an address). */
  destination?: string | Ip;
  /** DST.PORT. */
  port?: number;
  /** The source address of the outbound connection, when the client chose one with BIND. */
  sourceAddress?: string | Ip;
}

/** The verdict of the rules: which action, and which rule gave it. */
export interface AccessDecision {
  /** What to do. */
  readonly action: AccessAction;
  /** Index in `access_rules` of the rule that matched; `undefined` when `default_action` applied. */
  readonly ruleIndex: number | undefined;
}

/** The verdict before a destination name is resolved. */
export interface RequestDecision extends AccessDecision {
  /**
   * `true` when the destination is a name and a rule with CIDR blocks,
   * undecidable by name, comes before the deciding one and would reverse
   * `action`: resolve the name and use {@linkcode RuleSet.checkResolved}
   * for each address. `false`: `action` holds whatever the name resolves to
   * (no per-address check is needed).
   */
  readonly needsAddress: boolean;
}

/** Command bits. */
const COMMAND_BIT: Record<AccessCommand, number> = { connect: 1, bind: 2 };

/** A rule ready to match. `null` matchers match everything. */
interface CompiledRule {
  deny: boolean;
  commands: number;
  listeners: ReadonlySet<string> | null;
  users: ReadonlySet<string> | null;
  ports: Uint32Array | null;
  clients: CidrSet | null;
  sources: CidrSet | null;
  destinations: DestinationSet | null;
  /** Decisions handed out, made once. */
  decided: RequestDecision;
  undecided: RequestDecision;
}

/** A request with its text parsed, as the matchers read it. */
interface Facts {
  listener: string;
  client: Ip | undefined;
  user: string | undefined;
  command: number;
  name: string | undefined;
  suffixes: readonly string[];
  address: Ip | undefined;
  port: number | undefined;
  source: Ip | undefined;
}

const NO = 0;
const YES = 1;
const UNKNOWN = 2;

/**
 * The canonical form of a listen address for comparing rule `listeners`
 * with `proxy_listeners[].listen` (`"[0::1]:1080"` is `"[::1]:1080"`), or
 * the text itself when it does not parse.
 */
export function canonicalListen(text: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const ip = m ? parseIp(m[1] ?? m[2]) : undefined;
  if (!m || ip === undefined) return text;
  return ip.family === 6 || m[1] !== undefined ? `[${ip.key}]:${Number(m[3])}` : `${ip.key}:${Number(m[3])}`;
}

/** Match one rule; UNKNOWN only when its destination blocks need an address the facts lack. */
function match(rule: CompiledRule, f: Facts): number {
  if (rule.commands !== 0 && (rule.commands & f.command) === 0) return NO;
  if (rule.listeners !== null && !rule.listeners.has(f.listener)) return NO;
  if (rule.users !== null && (f.user === undefined || !rule.users.has(f.user))) return NO;
  if (rule.ports !== null && (f.port === undefined || !matchesPort(rule.ports, f.port))) return NO;
  if (rule.clients !== null && (f.client === undefined || !rule.clients.has(f.client))) return NO;
  if (rule.sources !== null && (f.source === undefined || !rule.sources.has(f.source))) return NO;
  const d = rule.destinations;
  if (d === null) return YES;
  if (f.name !== undefined && matchesName(d, f.name, f.suffixes)) return YES;
  if (d.cidrs === null) return NO;
  if (f.address !== undefined) return d.cidrs.has(f.address) ? YES : NO;
  return f.name !== undefined ? UNKNOWN : NO;
}

/** Options of {@linkcode compileRules}. */
export interface CompileRulesOptions {
  /**
   * The listen texts of the configured listeners. A rule's `listeners`
   * entry matches each of these with the same canonical address, so a rule
   * may spell an address differently from the listener. Default: rule
   * entries are matched as written.
   */
  listeners?: readonly string[];
}

/** Compiled `access_rules` and `default_action`: see {@linkcode compileRules}. */
export interface RuleSet {
  /** The action when no rule matches. */
  readonly defaultAction: AccessAction;
  /** How many rules there are. */
  readonly size: number;
  /**
   * The verdict for a request before its destination name (if any) is
   * resolved; see the module docs for names.
   */
  checkRequest(req: AccessRequest): RequestDecision;
  /**
   * The verdict for a request whose destination resolved to `address`:
   * the request's name (when the destination is a name) still matches name
   * patterns, and `address` is matched against CIDR blocks. For a
   * destination given as an address, `address` replaces it.
   */
  checkResolved(req: AccessRequest, address: string | Ip): AccessDecision;
}

/**
 * Compile rules once per config.
 *
 * @param rules `access_rules`, in order
 * @param defaultAction `default_action`
 * @param options see {@linkcode CompileRulesOptions}
 * @throws {TypeError} on an entry a matcher's grammar refuses (the config
 *   schema reports those first)
 * @example
 * ```ts
 * const rules = compileRules([
 *   { action: "deny", destinations: ["10.0.0.0/8"] },
 *   { action: "allow", destinations: [".example.com"] },
 * ], "deny");
 * const req = { listener: "0.0.0.0:1080", client: "192.0.2.7", command: "connect", destination: "www.example.com", port: 443 } as const;
 * rules.checkRequest(req); // { action: "allow", ruleIndex: 1, needsAddress: true }
 * rules.checkResolved(req, "10.1.2.3"); // { action: "deny", ruleIndex: 0 }
 * rules.checkResolved(req, "93.184.215.14"); // { action: "allow", ruleIndex: 1 }
 * ```
 */
export function compileRules(
  rules: readonly AccessRuleConfig[],
  defaultAction: AccessAction = "allow",
  options: CompileRulesOptions = {},
): RuleSet {
  const byKey = new Map<string, string[]>();
  for (const text of options.listeners ?? []) {
    const key = canonicalListen(text);
    byKey.set(key, [...(byKey.get(key) ?? []), text]);
  }
  const compiled: CompiledRule[] = rules.map((rule, index) => {
    const action = rule.action;
    if (action !== "allow" && action !== "deny") {
      throw new TypeError(`rule ${index}: unknown action ${JSON.stringify(action)}`);
    }
    let commands = 0;
    for (const c of rule.commands ?? []) {
      const bit = COMMAND_BIT[c];
      if (bit === undefined) throw new TypeError(`rule ${index}: unknown command ${JSON.stringify(c)}`);
      commands |= bit;
    }
    const listeners = rule.listeners === undefined ? null : new Set(
      rule.listeners.flatMap((text) => [text, ...(byKey.get(canonicalListen(text)) ?? [])]),
    );
    return {
      deny: action === "deny",
      commands,
      listeners,
      users: rule.users === undefined ? null : new Set(rule.users),
      ports: rule.ports === undefined ? null : compilePorts(rule.ports),
      clients: rule.clients === undefined ? null : compileCidrSet(rule.clients),
      sources: rule.source_addresses === undefined ? null : compileCidrSet(rule.source_addresses),
      destinations: rule.destinations === undefined ? null : compileDestinations(rule.destinations),
      decided: Object.freeze({ action, ruleIndex: index, needsAddress: false }),
      undecided: Object.freeze({ action, ruleIndex: index, needsAddress: true }),
    };
  });
  if (defaultAction !== "allow" && defaultAction !== "deny") {
    throw new TypeError(`unknown default action ${JSON.stringify(defaultAction)}`);
  }
  const defaultDecided: RequestDecision = Object.freeze({
    action: defaultAction,
    ruleIndex: undefined,
    needsAddress: false,
  });
  const defaultUndecided: RequestDecision = Object.freeze({
    action: defaultAction,
    ruleIndex: undefined,
    needsAddress: true,
  });
  const defaultDeny = defaultAction === "deny";

  /** Parse a request's text once. */
  function facts(req: AccessRequest, resolved: string | Ip | undefined): Facts {
    let name: string | undefined;
    let address: Ip | undefined;
    const dst = req.destination;
    if (typeof dst === "string") {
      address = parseIp(dst);
      if (address === undefined) name = normalizeName(dst);
    } else {
      address = dst;
    }
    if (resolved !== undefined) address = typeof resolved === "string" ? parseIp(resolved) : resolved;
    const client = req.client;
    const source = req.sourceAddress;
    return {
      listener: req.listener,
      client: typeof client === "string" ? parseIp(client) : client,
      user: req.user,
      command: COMMAND_BIT[req.command] ?? 0,
      name,
      suffixes: name === undefined ? [] : nameSuffixes(name),
      address,
      port: req.port,
      source: typeof source === "string" ? parseIp(source) : source,
    };
  }

  return {
    defaultAction,
    size: compiled.length,
    checkRequest(req: AccessRequest): RequestDecision {
      const f = facts(req, undefined);
      // Undecided rules seen so far, by action.
      let maybeAllow = false;
      let maybeDeny = false;
      for (let i = 0; i < compiled.length; i++) {
        const rule = compiled[i];
        const m = match(rule, f);
        if (m === YES) return (rule.deny ? maybeAllow : maybeDeny) ? rule.undecided : rule.decided;
        if (m === UNKNOWN) {
          if (rule.deny) maybeDeny = true;
          else maybeAllow = true;
        }
      }
      return (defaultDeny ? maybeAllow : maybeDeny) ? defaultUndecided : defaultDecided;
    },
    checkResolved(req: AccessRequest, address: string | Ip): AccessDecision {
      const f = facts(req, address);
      if (f.address === undefined) throw new TypeError(`not an IP address: ${JSON.stringify(String(address))}`);
      for (let i = 0; i < compiled.length; i++) {
        const rule = compiled[i];
        if (match(rule, f) === YES) return rule.decided;
      }
      return defaultDecided;
    },
  };
}
