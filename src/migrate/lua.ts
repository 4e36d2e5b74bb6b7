/**
 * Running a KumoProxy Lua policy (`init.lua`) in a real Lua 5.4 VM (wasmoon,
 * Lua compiled to WebAssembly) with stand-ins for KumoProxy's `kumo` and
 * `proxy` modules that record, instead of perform, every listener the
 * `proxy_init` handler starts. Loops, variables, string functions and
 * `os.getenv` behave as they do under KumoProxy; nothing is bound.
 *
 * @example
 * ```ts
 * const recording = await runPolicy(text, "init.lua", { env: (n) => process.env[n] });
 * recording.listeners[0]; // { api: "kumo.start_proxy_listener", kind: "proxy", params: {...}, where: "init.lua:4" }
 * ```
 *
 * @module
 */

import { LuaFactory, LuaTimeoutError } from "wasmoon";
import { getRuntime } from "../runtime/index.ts";
import { PolicyError } from "./errors.ts";

/** Which kind of listener a recorded call starts. */
export type ListenerKind = "proxy" | "http";

/** One listener call made by the policy. */
export interface RecordedListener {
  /** The function called, as written in KumoMTA's docs (e.g. `"proxy.start_http_listener"`). */
  api: string;
  /** `proxy` for a SOCKS5 listener, `http` for an HTTP listener. */
  kind: ListenerKind;
  /** The Lua table passed, converted to JavaScript (sequences as arrays, other tables as objects). */
  params: unknown;
  /** `FILE:LINE` of the call. */
  where: string;
}

/** One `kumo.on(EVENT, handler)` (or `proxy.on`) other than `proxy_init`. */
export interface RecordedHandler {
  /** The event name, e.g. `"proxy_server_auth_rfc1929"`. */
  event: string;
  /** `FILE:LINE` of the registration. */
  where: string;
}

/** What running the policy recorded, in call order. */
export interface PolicyRecording {
  /** Every listener call, in the order the policy made them. */
  listeners: RecordedListener[];
  /** Event handlers other than `proxy_init` (code, so never converted). */
  handlers: RecordedHandler[];
  /** The last `kumo.set_diagnostic_log_filter(FILTER)` call, if any. */
  logFilter?: { filter: unknown; where: string };
}

/** Options of {@linkcode runPolicy}. */
export interface RunPolicyOptions {
  /** What `os.getenv(NAME)` returns (`undefined`: nil). */
  env(name: string): string | undefined;
  /** Receives each line the policy `print`s (default: dropped). Never stdout's JSON. */
  print?(line: string): void;
  /**
   * Bound on running the file and on running `proxy_init`, each, in
   * milliseconds (default {@linkcode POLICY_TIMEOUT_MS}): a policy that
   * loops forever is an error, not a hang.
   */
  timeoutMs?: number;
}

/** Default bound of {@linkcode RunPolicyOptions.timeoutMs}: 10 s. */
export const POLICY_TIMEOUT_MS = 10_000;

/**
 * The Lua side: the `kumo` and `proxy` modules. The host functions come in
 * as `...` and are kept in locals, so the policy cannot reach them.
 */
const PRELUDE = String.raw`
local record_listener, record_handler, record_log_filter, host_print, host_getenv = ...
local handlers = {}
local function where(level)
  local info = debug.getinfo(level + 1, 'Sl')
  local src = info.source:sub(1, 1) == '@' and info.source:sub(2) or info.short_src
  return src .. ':' .. tostring(info.currentline)
end
local function on(name, fn)
  if type(name) ~= 'string' then error('kumo.on: the event name must be a string, got ' .. type(name), 2) end
  if type(fn) ~= 'function' then error('kumo.on: the handler of ' .. name .. ' must be a function, got ' .. type(fn), 2) end
  if handlers[name] ~= nil then error('kumo.on: ' .. name .. ' already has a handler', 2) end
  handlers[name] = fn
  if name ~= 'proxy_init' then record_handler(name, where(2)) end
end
local function listener(api, kind)
  return function(params)
    if type(params) ~= 'table' then error(api .. ': expected a table of parameters, got ' .. type(params), 2) end
    record_listener(api, kind, params, where(2))
  end
end
local provided = 'kumo.on, kumo.start_proxy_listener, kumo.start_proxy_http_listener, kumo.start_http_listener, ' ..
  'kumo.set_diagnostic_log_filter, proxy.on, proxy.start_proxy_listener, proxy.start_http_listener'
local function module(name, fns)
  return setmetatable(fns, { __index = function(_, key)
    error(name .. '.' .. tostring(key) .. ' is not available when converting a KumoProxy policy (available: ' ..
      provided .. ')', 2)
  end })
end
local kumo = module('kumo', {
  on = on,
  start_proxy_listener = listener('kumo.start_proxy_listener', 'proxy'),
  start_proxy_http_listener = listener('kumo.start_proxy_http_listener', 'http'),
  start_http_listener = listener('kumo.start_http_listener', 'http'),
  set_diagnostic_log_filter = function(filter) record_log_filter(filter, where(2)) end,
})
local proxy = module('proxy', {
  on = on,
  start_proxy_listener = listener('proxy.start_proxy_listener', 'proxy'),
  start_http_listener = listener('proxy.start_http_listener', 'http'),
})
package.loaded.kumo = kumo
package.loaded.proxy = proxy
package.path = ''
package.cpath = ''
_G.kumo = kumo
os.getenv = function(name) return host_getenv(tostring(name)) end
print = function(...)
  local parts = {}
  for i = 1, select('#', ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  host_print(table.concat(parts, '\t'))
end
return function()
  local init = handlers.proxy_init
  if init == nil then return false end
  init()
  return true
end
`;

/**
 * Where glue.wasm is inside a `bun build --compile` binary, which embeds it
 * (scripts/build passes it as an extra entry point); `undefined` when
 * running from source, where wasmoon reads it from next to its own
 * `index.js` in node_modules.
 *
 * @throws {PolicyError} in a compiled binary built without it (wasmoon would
 *   otherwise look for the build machine's node_modules)
 */
function wasmLocation(): string | undefined {
  const embedded = getRuntime().embeddedFilePath(/^glue(-[0-9a-z]+)?\.wasm$/);
  if (embedded !== undefined) return embedded;
  if (import.meta.url.includes("/$bunfs/")) {
    throw new PolicyError(
      "this proxy-server binary was built without the Lua VM (wasmoon's glue.wasm, which scripts/build embeds): " +
        "convert the policy with a binary from scripts/build or from source",
    );
  }
  return undefined;
}

/** Lua shortens long chunk names to `...TAIL`; put the whole file name back. */
function fullName(message: string, file: string): string {
  const m = /^\.\.\.(\S+?):(\d+):/.exec(message);
  if (m && file.endsWith(m[1])) return file + message.slice(3 + m[1].length);
  return message;
}

/** The text of an error raised by Lua or by wasmoon. */
function luaMessage(error: unknown, file: string): string {
  return fullName(error instanceof Error ? error.message : String(error), file);
}

/**
 * Run the policy `text` (read from `file`, the name used in messages and as
 * the Lua chunk name), then call its `proxy_init` handler, recording every
 * listener call, handler registration and log filter.
 *
 * @param text the Lua source
 * @param file the file name, as the user gave it
 * @param options `os.getenv`, `print` and the time bound
 * @returns what the policy did
 * @throws {PolicyError} for a syntax error or runtime error (message
 *   `FILE:LINE: ...`), a policy without a `proxy_init` handler, and one
 *   still running after `timeoutMs`
 */
export async function runPolicy(text: string, file: string, options: RunPolicyOptions): Promise<PolicyRecording> {
  const recording: PolicyRecording = { listeners: [], handlers: [] };
  const timeout = options.timeoutMs ?? POLICY_TIMEOUT_MS;
  const lua = await new LuaFactory(wasmLocation()).createEngine({ functionTimeout: timeout });
  try {
    const host = [
      (api: string, kind: ListenerKind, params: unknown, where: string) =>
        void recording.listeners.push({ api, kind, params, where }),
      (event: string, where: string) => void recording.handlers.push({ event, where }),
      (filter: unknown, where: string) => void (recording.logFilter = { filter, where }),
      (line: string) => options.print?.(line),
      (name: string) => options.env(name),
    ];
    const prelude = lua.global.newThread();
    prelude.loadString(PRELUDE, "=proxy-server");
    for (const fn of host) prelude.pushValue(fn);
    const [initialize] = await prelude.run(host.length) as [() => boolean];
    const policy = lua.global.newThread();
    try {
      policy.loadString(text, `@${file}`);
    } catch (error) {
      throw new PolicyError(luaMessage(error, file));
    }
    try {
      await policy.run(0, { timeout });
      if (!initialize()) {
        throw new PolicyError(
          `${file}: no proxy_init handler: KumoProxy starts its listeners from ` +
            "kumo.on('proxy_init', function() ... end)",
        );
      }
    } catch (error) {
      if (error instanceof PolicyError) throw error;
      if (error instanceof LuaTimeoutError || /thread timeout exceeded/.test(String(error))) {
        throw new PolicyError(`${file}: still running after ${timeout / 1000} s (an endless loop?)`);
      }
      throw new PolicyError(luaMessage(error, file));
    }
    return recording;
  } finally {
    lua.global.close();
  }
}
