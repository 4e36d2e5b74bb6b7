/**
 * The in-place reload of a server's listeners (SIGHUP): diff the configured
 * listeners against the open ones by `listen` text, bind what is new,
 * rebind what changed TLS material, retire what is gone, and update the
 * shared session context of every listener kept, so open tunnels are never
 * touched and a failed reload changes nothing.
 *
 * @module
 */
import { formatHostPort, type Listener, type NetAddr } from "../runtime/index.ts";
import type { AccessAction, AccessRuleConfig } from "../access/index.ts";
import { getLog } from "../log/index.ts";
import { type UserEntry, UserStore } from "../auth/index.ts";
import type { Dialer } from "./dialer.ts";
import { listenerLabel, needsRebind, type ProxyListenerSpec, sessionSettings } from "./listener-spec.ts";
import type { SessionContext } from "./context.ts";

const log = getLog("server");

/** A bound proxy listener. */
export interface BoundListener {
  /** The configured `listen` text. */
  listener: string;
  /** The real bound address (the real port when 0 was configured). */
  addr: NetAddr;
}

/** One open proxy listener: its spec, runtime handle and the context its sessions share. */
export interface OpenListener {
  spec: ProxyListenerSpec;
  bound: BoundListener;
  handle: Listener;
  ctx: SessionContext;
}

/** Binds one listener whose sessions use `users` and `dial`. */
export type OpenFn = (spec: ProxyListenerSpec, users: UserStore, dial: Dialer) => Promise<OpenListener>;

/** What a reload may replace: see `ProxyServer.reconfigure`. */
export interface ProxyServerUpdate {
  /** The proxy listeners. */
  listeners: readonly ProxyListenerSpec[];
  /** The RFC 1929 users, with their access keys (`source_addresses`, `max_connections`). */
  users: readonly (UserEntry & { source_addresses?: readonly string[]; max_connections?: number })[];
  /** `access_rules` for new sessions (open tunnels keep what they were allowed). */
  access_rules?: readonly AccessRuleConfig[];
  /** What a request no rule matches gets; default `"allow"`. */
  default_action?: AccessAction;
  /** Opens outbound connections; default connects directly with `runtime.connect`. */
  dial?: Dialer;
}

/**
 * What identifies a listener across a reload: its `listen` text and the
 * address it binds. A `"HOST:PORT"` listen (KumoProxy accepts host names)
 * becomes one listener per address the name resolves to, all with the same
 * text, so the text alone would fold them into one.
 */
function reloadKey(spec: ProxyListenerSpec): string {
  return `${spec.listen.text} ${spec.listen.host}`;
}

/** What `ProxyServer.reconfigure` did, by `listen` text. */
export interface ReconfigureResult {
  added: string[];
  removed: string[];
  /** Settings changed in place (timeout, require_auth, ...) or TLS material changed (rebound). */
  changed: string[];
}

/**
 * Apply `update` to the open `listeners` (see the module docs). `listeners`
 * itself is updated in place only to put back a listener that was closed
 * for a rebind when the reload fails.
 *
 * @param dial the dialer of the new configuration (already defaulted).
 * @param open binds one listener.
 * @returns the listeners after the reload, in configuration order, and what changed.
 * @throws {NetError} when a new listener cannot be bound; nothing is changed then.
 */
export async function reloadListeners(
  listeners: OpenListener[],
  update: ProxyServerUpdate,
  dial: Dialer,
  open: OpenFn,
): Promise<{ next: OpenListener[]; result: ReconfigureResult }> {
  const users = new UserStore(update.users);
  const current = new Map(listeners.map((l) => [reloadKey(l.spec), l]));
  const result: ReconfigureResult = { added: [], removed: [], changed: [] };
  const opened: OpenListener[] = [];
  const next: OpenListener[] = [];
  const retired: OpenListener[] = [];
  const kept: [OpenListener, ProxyListenerSpec][] = [];
  try {
    for (const spec of update.listeners) {
      const old = current.get(reloadKey(spec));
      current.delete(reloadKey(spec));
      if (old && !needsRebind(old.spec, spec)) {
        next.push(old);
        kept.push([old, spec]);
        const label = old.ctx.settings.listener;
        if (JSON.stringify(sessionSettings(old.spec, label)) !== JSON.stringify(sessionSettings(spec, label))) {
          result.changed.push(spec.listen.text);
        }
        continue;
      }
      if (old) {
        // New TLS material: free the address first, then bind it again.
        await old.handle.close();
        retired.push(old);
        result.changed.push(spec.listen.text);
      } else {
        result.added.push(spec.listen.text);
      }
      const fresh = await open(spec, users, dial);
      opened.push(fresh);
      next.push(fresh);
    }
  } catch (error) {
    await Promise.all(opened.map((l) => l.handle.close()));
    // Put back any listener closed to be rebound with new TLS material.
    for (const old of retired) {
      const index = listeners.indexOf(old);
      listeners[index] = await open(old.spec, old.ctx.users, old.ctx.dial).catch((reopenError) => {
        log.error("{listener}: cannot bind again after a failed reload: {error}", {
          listener: old.spec.listen.text,
          error: String(reopenError),
        });
        return old;
      });
    }
    throw error;
  }
  for (const gone of current.values()) {
    await gone.handle.close();
    result.removed.push(gone.spec.listen.text);
    log.info("proxy listener on {address} closed (no longer configured)", { address: formatHostPort(gone.bound.addr) });
  }
  for (const [old, spec] of kept) old.spec = spec;
  for (const l of next) {
    l.ctx.settings = sessionSettings(l.spec, listenerLabel(l.bound.addr));
    l.ctx.users = users;
    l.ctx.dial = dial;
  }
  return { next, result };
}
