/**
 * `cluster`: several proxy-server instances sharing one view of egress
 * health and one set of limits through Redis (issue 15). Absent, every
 * instance keeps its state to itself (the default, and KumoMTA's egress
 * behaviour: "there is no cluster coordination").
 *
 * @module
 */

import * as v from "valibot";
import { serverAddress } from "./address.ts";
import { duration } from "./duration.ts";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";
import { secret } from "./secret.ts";

/** Default `cluster.key_prefix`. */
export const DEFAULT_CLUSTER_KEY_PREFIX = "proxy-server:";

/** A `host:port` of a Sentinel or a Cluster node, parsed as every other server address is. */
const HostPortSchema = serverAddress('A "host:port" (an IPv6 literal in brackets: "[::1]:26379").');

/** `cluster.redis`: where Redis is and how to log in. */
export const ClusterRedisSchema = v.pipe(
  strictObject({
    url: v.optional(v.pipe(
      v.string(),
      v.regex(
        /^rediss?:\/\/[^\s]+$/,
        (issue) => `expected a "redis://host:port[/db]" or "rediss://..." URL, got ${got(issue.input)}`,
      ),
      v.description(
        'The Redis server: "redis://host:port[/db]", or "rediss://..." for TLS (ioredis URL syntax). ' +
          "Put the password in password rather than in the URL. Give url, sentinels or cluster_nodes.",
      ),
    )),
    username: v.optional(v.pipe(
      v.string(),
      v.minLength(1),
      v.description("The Redis ACL user (AUTH username password). Default: the default user."),
    )),
    password: v.optional(secret(
      'The Redis password (AUTH): the password itself, { "env": NAME } or { "file": PATH } ' +
        "(one trailing newline removed), resolved when the config is loaded. Default: none.",
    )),
    sentinels: v.optional(v.pipe(
      v.array(HostPortSchema),
      v.minLength(1),
      v.description(
        "Redis Sentinel addresses (ioredis' Sentinel support): the master named by sentinel_name " +
          "is found through them and followed on failover.",
      ),
    )),
    sentinel_name: v.optional(v.pipe(
      v.string(),
      v.minLength(1),
      v.description('The Sentinel master name (with sentinels). Default: "mymaster".'),
    )),
    cluster_nodes: v.optional(v.pipe(
      v.array(HostPortSchema),
      v.minLength(1),
      v.description(
        "Seed nodes of a Redis Cluster (ioredis' Cluster support); the rest of the cluster is " +
          "discovered from them. Every key proxy-server writes carries a hash tag, so the " +
          "multi-key commands it uses stay on one slot.",
      ),
    )),
  }, "the Redis connection"),
  v.check(
    (r) => [r.url, r.sentinels, r.cluster_nodes].filter((x) => x !== undefined).length === 1,
    'expected exactly one of "url", "sentinels" or "cluster_nodes"',
  ),
  v.description("How to reach Redis: one server (url), through Sentinel (sentinels) or a Redis Cluster."),
);

/** `cluster`: the shared state of several instances. */
export const ClusterSchema = v.pipe(
  strictObject({
    redis: ClusterRedisSchema,
    key_prefix: v.optional(
      v.pipe(
        v.string(),
        v.maxLength(200),
        v.description(
          "Prefix of every Redis key and channel this proxy uses, so several deployments can share " +
            `one Redis. Default: "${DEFAULT_CLUSTER_KEY_PREFIX}".`,
        ),
      ),
      DEFAULT_CLUSTER_KEY_PREFIX,
    ),
    instance: v.optional(v.pipe(
      v.string(),
      v.regex(
        /^[A-Za-z0-9_.:@-]{1,128}$/,
        (issue) => `expected 1 to 128 of A-Z a-z 0-9 _ . : @ -, got ${got(issue.input)}`,
      ),
      v.description(
        "This instance's name: shown with every suspension it sets (admin API, logs) and part of " +
          'its lease names. Default: "HOSTNAME:PID". Give each instance its own.',
      ),
    )),
    timeout: v.optional(
      duration(
        "Deadline of every Redis call, as a duration, in seconds once loaded. A call that misses it " +
          "counts as Redis being down: the instance falls back to its local state and retries in " +
          'the background, so a slow Redis never holds a tunnel up. Default: "100ms".',
      ),
      "100ms",
    ),
    lease_time: v.optional(
      duration(
        "How long a connection lease (cluster-wide max_connections, max_connections_per_client and " +
          "users[].max_connections) lives without renewal, in seconds once loaded. A live session's " +
          "lease is renewed every third of it; the leases of an instance that died without giving " +
          'them back are pruned after it. Default: "30s".',
      ),
      "30s",
    ),
  }, "the cluster settings"),
  v.description(
    "Share egress suspensions and connection limits with the other instances that name the same " +
      "Redis and key_prefix (see README, Running several instances). Default: none (every instance " +
      "on its own).",
  ),
);

/** The loaded `cluster` (durations in seconds, password resolved). */
export type ClusterConfig = v.InferOutput<typeof ClusterSchema>;
