/**
 * `pools`: weighted pools of egress sources, with KumoMTA's option names
 * (`kumo.make_egress_pool`); and the `egress_pool` key with which a proxy
 * listener or a user names one. Output shape matches the egress library's
 * `EgressPoolSpec`.
 *
 * @module
 */

import * as v from "valibot";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";
import { duration } from "./duration.ts";
import { IGNORED_POOL_KEYS, namedRecord, withoutKeys } from "./sources.ts";

/** A pool weight: a non-negative whole number. */
const Weight = v.pipe(
  v.number(),
  v.integer((issue) => `expected a whole number, got ${got(issue.input)}`),
  v.minValue(0, (issue) => `expected 0 or more, got ${got(issue.input)}`),
  v.description("Relative share of the selections (3 and 1: three of four); 0 = never used. Default: 1."),
);

/** One pool entry. */
const PoolEntrySchema = strictObject({
  name: v.pipe(v.string(), v.minLength(1, "expected a source name"), v.description("Name of a source in sources.")),
  weight: v.optional(Weight, 1),
}, 'a pool entry { "name", "weight" }');

/** One pool (KumoMTA's `name` and `ttl` accepted and dropped: the key in `pools` is the name). */
export const PoolSchema = v.pipe(
  strictObject({
    entries: v.pipe(
      v.array(PoolEntrySchema),
      v.description("The sources of the pool with their weights (KumoMTA: entries)."),
    ),
    name: v.optional(v.pipe(
      v.string(),
      v.description(
        "Accepted for KumoMTA compatibility and ignored (the key in pools is the name); the loader names it " +
          "in one notice. KumoMTA: make_egress_pool.name.",
      ),
    )),
    ttl: v.optional(duration(
      "Accepted for KumoMTA compatibility and ignored (an MTA's cache lifetime); the loader names it in one " +
        "notice. KumoMTA: make_egress_pool.ttl.",
    )),
  }, 'a pool { "entries": [...] }'),
  v.transform((pool) => withoutKeys(pool, IGNORED_POOL_KEYS)),
);

/** `pools`: name -> pool. */
export const PoolsSchema = v.pipe(
  namedRecord("pool", PoolSchema),
  v.description(
    "Egress pools by name (KumoMTA: kumo.make_egress_pool): weighted round robin over the entries, " +
      "skipping suspended sources. A proxy listener or a user names one with egress_pool. Default: none.",
  ),
);

/** The `egress_pool` key of proxy listeners and users. */
export function egressPoolKey(description: string) {
  return v.optional(v.pipe(v.string(), v.minLength(1, "expected a pool name"), v.description(description)));
}

/** The loaded form of one pool. */
export type PoolConfig = v.InferOutput<typeof PoolSchema>;
