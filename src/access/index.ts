/**
 * Access control and limits as pure, synchronous decisions (issue 9): client
 * allow lists per listener, `access_rules` (first match wins, Dante's model),
 * per-user BIND source addresses, and connection limits and rates whose
 * counts live in a store that outlives each compiled policy. Depends on an
 * IP library only; the server acts on the decisions.
 *
 * @example
 * ```ts
 * import { compileAccessPolicy, parseIp } from "./src/access/index.ts";
 * let policy = compileAccessPolicy(config);
 * const admitted = policy.admit("0.0.0.0:1080", parseIp("192.0.2.7")!, Date.now());
 * if (admitted.ok) {
 *   policy.checkRequest({ listener: "0.0.0.0:1080", client: "192.0.2.7", command: "connect",
 *     destination: "example.com", port: 443 }); // { action, ruleIndex, needsAddress }
 *   admitted.release();
 * }
 * policy = compileAccessPolicy(newConfig, policy.store); // on reload
 * ```
 *
 * @module
 */

export {
  type Cidr,
  type CidrParseResult,
  type CidrSet,
  compileCidrSet,
  Ip,
  isLoopback,
  parseCidr,
  parseIp,
} from "./ip.ts";
export {
  type DestinationParseResult,
  type DestinationPattern,
  normalizeName,
  parseDestination,
  parsePortRange,
  type PortParseResult,
} from "./patterns.ts";
export {
  ACCESS_COMMANDS,
  type AccessAction,
  type AccessCommand,
  type AccessDecision,
  type AccessRequest,
  type AccessRuleConfig,
  canonicalListen,
  compileRules,
  type CompileRulesOptions,
  type RequestDecision,
  type RuleSet,
} from "./rules.ts";
export {
  type AccessStore,
  type ConnectionCounts,
  createMemoryAccessStore,
  MemoryConnectionCounts,
  MemoryRateLimiter,
  type MemoryRateLimiterOptions,
  type RateLimiter,
  type SharedCount,
  type SharedLease,
  type SharedLimits,
} from "./store.ts";
export {
  type AccessConfig,
  type AccessPolicy,
  type Admission,
  compileAccessPolicy,
  type Denial,
  DENIAL_REASONS,
  type DenialReason,
  isOpenProxy,
  type Lease,
  openProxyListeners,
  type RateConfig,
  type SharedCheck,
} from "./policy.ts";
