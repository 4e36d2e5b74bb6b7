/**
 * From what a KumoProxy policy did ({@linkcode PolicyRecording}) to the
 * equivalent `proxy.json` value. Driven by the JSON Schema at run time
 * (`configJsonSchema()`), so a key the schema learns later (e.g.
 * `use_splice`) is carried over from then on instead of being dropped.
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { configJsonSchema } from "../config/index.ts";
import type { PolicyRecording, RecordedListener } from "./lua.ts";

/** Something in the policy that has no place in the JSON config, and what to write instead. */
export interface DroppedItem {
  /** `FILE:LINE` of the call or registration. */
  where: string;
  /** What was dropped, e.g. `kumo.on('proxy_server_auth_rfc1929') handler`. */
  what: string;
  /** What to write in the JSON config instead (or why nothing is needed). */
  instead: string;
}

/** The result of converting a policy. */
export interface Conversion {
  /** The `proxy.json` document (not yet validated: see `parseConfig`). */
  config: Record<string, unknown>;
  /** What could not be converted; empty when the config is the whole policy. */
  dropped: DroppedItem[];
}

/** Options of {@linkcode toConfig}. */
export interface ToConfigOptions {
  /**
   * Directory that relative TLS file paths in the policy are resolved
   * against (KumoProxy reads them relative to its working directory); they
   * are written absolute, so the JSON file behaves the same wherever it is
   * saved. Unset: left as written.
   */
  cwd?: string;
}

/** A JSON Schema node, as much of it as the conversion reads. */
interface SchemaNode {
  type?: string | string[];
  pattern?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
}

/** What to write instead of KumoProxy listener keys proxy-server does not have (when the schema lacks them). */
const KEY_NOTES: Record<string, string> = {
  use_splice: "proxy-server relays without splice(2); the relay behaves the same, so nothing is needed",
  no_splice: "proxy-server relays without splice(2); the relay behaves the same, so nothing is needed",
};

/** What to write instead of event handlers (Lua code). */
const HANDLER_NOTES: Record<string, string> = {
  proxy_server_auth_rfc1929: 'write the accounts it accepts as "users" entries ' +
    '([{ "username": "...", "password": "..." }], or "password_hash" with an argon2id or bcrypt hash); ' +
    "listeners with require_auth then check them",
  http_server_validate_auth_basic: "proxy-server's HTTP listeners admit clients by address: list them in trusted_hosts",
  http_server_validate_auth_bearer:
    "proxy-server's HTTP listeners admit clients by address: list them in trusted_hosts",
};

/** JSON-ish text of a converted Lua value, for messages. */
function show(value: unknown): string {
  if (typeof value === "function") return "function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** State of one conversion. */
class Converter {
  readonly dropped: DroppedItem[] = [];
  constructor(private readonly options: ToConfigOptions) {}

  /** Convert `params` (a listener's table) against the item schema `node`. */
  object(params: Record<string, unknown>, node: SchemaNode, call: RecordedListener, section: string, prefix = "") {
    const props = node.properties ?? {};
    const out: Record<string, unknown> = {};
    // Schema order first (Lua tables have no key order), then the rest.
    const keys = [
      ...Object.keys(props).filter((k) => k in params),
      ...Object.keys(params).filter((k) => !(k in props)),
    ];
    for (const key of keys) {
      const value = params[key];
      const name = prefix + key;
      const prop = props[key];
      if (prop === undefined) {
        this.drop(
          call,
          `key ${name} = ${show(value)}`,
          KEY_NOTES[name] ?? `${section} entries have no ${name} key (see config.schema.json)`,
        );
        continue;
      }
      const converted = this.value(value, prop, call, section, name);
      if (converted !== undefined) out[key] = converted;
    }
    return out;
  }

  /** Convert one value against its property schema; `undefined` when dropped. */
  value(value: unknown, prop: SchemaNode, call: RecordedListener, section: string, name: string): unknown {
    if (typeof value === "function") {
      this.drop(call, `key ${name} = function`, "a Lua function cannot be written in JSON: give the value it computes");
      return undefined;
    }
    const takesString = prop.type === "string" || (Array.isArray(prop.type) && prop.type.includes("string"));
    if (typeof value === "number" && takesString && prop.pattern !== undefined) {
      // A duration given as a number of seconds.
      const text = `${value}s`;
      if (new RegExp(prop.pattern).test(text)) return text;
    }
    if (prop.type === "array" && isPlainObject(value) && Object.keys(value).length === 0) return [];
    if (prop.type === "object" && prop.properties !== undefined && isPlainObject(value)) {
      return this.object(value, prop, call, section, `${name}.`);
    }
    if (prop.anyOf !== undefined && isPlainObject(value)) {
      const vault = Object.keys(value).filter((k) => k.startsWith("vault_"));
      if (vault.length > 0) {
        this.drop(
          call,
          `key ${name} from HashiCorp Vault (${vault.join(", ")})`,
          `fetch the PEM from Vault and give ${name} as a file path, { "key_data": PEM } or { "env": NAME }`,
        );
        return undefined;
      }
    }
    if (typeof value === "string" && /^tls_(certificate|private_key)$/.test(name) && this.options.cwd !== undefined) {
      return isAbsolute(value) ? value : join(this.options.cwd, value);
    }
    return value;
  }

  drop(call: RecordedListener, what: string, instead: string) {
    this.dropped.push({ where: call.where, what: `${call.api}: ${what}`, instead });
  }
}

/**
 * Turn a policy's recording into a `proxy.json` value: each
 * `start_proxy_listener` call becomes a `proxy_listeners` entry and each
 * `start_http_listener` / `start_proxy_http_listener` call an
 * `http_listeners` entry (keys in schema order; a number where the schema
 * wants a duration becomes `"Ns"`; an empty table where it wants a list
 * becomes `[]`); `kumo.set_diagnostic_log_filter` becomes `log.filter`.
 * Keys the schema does not have, event handlers (`proxy_server_auth_rfc1929`
 * is code: write `users` instead) and Vault key sources are listed in
 * `dropped`.
 *
 * @param recording what {@linkcode runPolicy} recorded
 * @param options see {@linkcode ToConfigOptions}
 * @returns the config value and the dropped items
 * @example
 * ```ts
 * const { config, dropped } = toConfig(await runPolicy(text, "init.lua", { env }));
 * ```
 */
export function toConfig(recording: PolicyRecording, options: ToConfigOptions = {}): Conversion {
  const schema = configJsonSchema() as SchemaNode;
  const converter = new Converter(options);
  const sections = { proxy: "proxy_listeners", http: "http_listeners" } as const;
  const lists: Record<string, unknown[]> = { proxy_listeners: [], http_listeners: [] };
  for (const call of recording.listeners) {
    const section = sections[call.kind];
    const item = schema.properties?.[section]?.items ?? {};
    lists[section].push(isPlainObject(call.params) ? converter.object(call.params, item, call, section) : call.params);
  }
  const config: Record<string, unknown> = { proxy_listeners: lists.proxy_listeners };
  if (lists.http_listeners.length > 0) config.http_listeners = lists.http_listeners;
  if (recording.logFilter !== undefined) config.log = { filter: recording.logFilter.filter };
  for (const handler of recording.handlers) {
    converter.dropped.push({
      where: handler.where,
      what: `kumo.on('${handler.event}') handler`,
      instead: HANDLER_NOTES[handler.event] ??
        "proxy-server runs no Lua event handlers; this one has no JSON equivalent",
    });
  }
  return { config, dropped: converter.dropped };
}

/**
 * One line of the dropped list, as the CLI prints it on stderr.
 *
 * @example
 * ```ts
 * describeDropped(item);
 * // "init.lua:12: kumo.on('proxy_server_auth_rfc1929') handler: not converted; write the accounts ..."
 * ```
 */
export function describeDropped(item: DroppedItem): string {
  return `${item.where}: ${item.what}: not converted; ${item.instead}`;
}
