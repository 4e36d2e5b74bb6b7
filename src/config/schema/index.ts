/**
 * The root of `proxy.json`: the valibot schema that is the single source of
 * truth for the config file, its TypeScript type ({@linkcode Config}) and
 * its JSON Schema (`config.schema.json`). Each key's schema lives in its own
 * file next to this one; to add a key (`http_listeners`, `sources`, `pools`,
 * ...), write its schema in a new file and list it in
 * {@linkcode ConfigEntries}.
 *
 * @module
 */

import * as v from "valibot";
import { accessRefsCheck, AccessRulesSchema, DefaultActionSchema } from "./access.ts";
import { ClusterSchema } from "./cluster.ts";
import { duration } from "./duration.ts";
import { HttpListenersSchema } from "./http-listener.ts";
import { PoolsSchema } from "./pools.ts";
import { SourcesFileSchema, SourcesSchema } from "./sources.ts";
import { ProxyListenersSchema } from "./listener.ts";
import { LogSchema } from "./log.ts";
import { MetricsSchema } from "./metrics.ts";
import { strictObject } from "./object.ts";
import { UsersSchema } from "./users.ts";

/** The top-level keys of `proxy.json` and their schemas. */
export const ConfigEntries = {
  $schema: v.optional(v.pipe(
    v.string(),
    v.description(
      'URI of the JSON Schema this file follows (e.g. "./config.schema.json"), for editors; ' +
        "ignored by proxy-server.",
    ),
  )),
  proxy_listeners: ProxyListenersSchema,
  http_listeners: v.optional(HttpListenersSchema, []),
  metrics: v.optional(MetricsSchema, {}),
  users: v.optional(UsersSchema, []),
  users_cache_ttl: v.optional(
    duration(
      "How long a successful check of a user's password_hash is remembered, as a duration " +
        '("5m", "1h"), in seconds once loaded, so a client that logs in on every connection ' +
        "pays the argon2id/bcrypt cost once per period rather than once per tunnel. What is kept " +
        "is a keyed digest (HMAC-SHA-256 under a per-process random key), never the password; " +
        'a wrong password is never kept; a reload starts empty. "0s" turns it off. Default: "5m".',
    ),
    "5m",
  ),
  sources: v.optional(SourcesSchema, {}),
  pools: v.optional(PoolsSchema, {}),
  sources_file: v.optional(SourcesFileSchema),
  access_rules: v.optional(AccessRulesSchema, []),
  default_action: v.optional(DefaultActionSchema, "allow"),
  log: v.optional(LogSchema, {}),
  cluster: v.optional(ClusterSchema),
  shutdown_grace_period: v.optional(
    duration(
      "After SIGINT or SIGTERM, how long open tunnels may keep running before they are " +
        'closed, as a duration ("10s", "1m"), in seconds once loaded. Listeners stop ' +
        'accepting at once. Default: "10s".',
    ),
    "10s",
  ),
} as const;

/**
 * The valibot schema of `proxy.json`. Input: the JSON document. Output:
 * {@linkcode Config} (defaults filled in, durations in seconds, `listen` parsed,
 * secrets resolved). Problems are valibot issues; `parseConfig` turns them
 * into `ConfigProblem`s. Parsing with this schema directly cannot resolve
 * `{ "env" }` / `{ "file" }` secrets; use `loadConfig`/`parseConfig`.
 */
export const ConfigSchema = v.pipe(
  strictObject(ConfigEntries, "the proxy-server configuration"),
  accessRefsCheck(),
  v.description(
    "Configuration of proxy-server, a SOCKS5 egress proxy and drop-in peer of " +
      "KumoMTA's KumoProxy. Keys follow KumoProxy's options.",
  ),
);

/** The loaded configuration: the output of {@linkcode ConfigSchema}. */
export type Config = v.InferOutput<typeof ConfigSchema>;

/** One entry of `proxy_listeners`, as loaded (timeout in seconds, listen parsed). */
export type ProxyListenerConfig = Config["proxy_listeners"][number];

/** One entry of `http_listeners`, as loaded (listen parsed, trusted_hosts in canonical spelling). */
export type HttpListenerConfig = Config["http_listeners"][number];
export type { ClusterConfig } from "./cluster.ts";
export type { PoolConfig } from "./pools.ts";
export type { SourceConfig } from "./sources.ts";
