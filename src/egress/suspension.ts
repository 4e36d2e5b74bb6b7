/**
 * The suspension state of one egress source: classified failures, the
 * suspension rules that turn them into a suspension (KumoMTA's
 * `suspend_when_proxy_unhealthy` / `suspend_when_unplumbed`), manual and
 * health-check suspensions, and expiry by timer (no traffic needed).
 *
 * State transitions, with their observer calls (metrics) and log levels, as
 * KumoMTA's `source_health` module has them:
 * - not suspended -> suspended: `suspended(reason)`, WARN;
 * - suspended again for the same reason while active: the expiry moves to
 *   now + duration, no observer call, DEBUG;
 * - suspended for another reason: `unsuspended(old)`, `suspended(new)`, WARN;
 * - expiry: `unsuspended(reason)`, INFO "auto-suspension cleared".
 * Clearing by an operator or by a passing health check is like an expiry
 * (INFO). All state is process-local unless a {@linkcode SuspensionShare}
 * is given (`cluster`): then rule and operator suspensions, and operator
 * clears, are also handed to it, and those of other instances arrive
 * through {@linkcode SourceSuspension.applyShared} and
 * {@linkcode SourceSuspension.clearShared} with the same transitions.
 *
 * @module
 */
import { getLog } from "../log/index.ts";
import { type Clock, type ClockTimer, SYSTEM_CLOCK } from "./clock.ts";
import type { FailureKind } from "./errors.ts";
import type { EgressObserver } from "./observer.ts";
import type { SuspendRule } from "./spec.ts";
import { RollingCount } from "./rolling-count.ts";
import type { SuspensionShare } from "./shared.ts";

const log = getLog("egress");

/** Window of the "failures in the current window" figure when no threshold rule sets one, seconds (5 minutes). */
export const DEFAULT_FAILURE_WINDOW_SECONDS = 300;

/** The reason of a suspension installed by failing health checks. */
export const HEALTH_CHECK_REASON = "HealthCheck";

/** Longest single timer delay JavaScript supports, milliseconds; longer suspensions re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Who installed or removed a suspension: a rule, an operator, the health
 * checker (all of this instance), or another instance (`"cluster"`,
 * through the shared store). Changes the log wording, and whether the
 * change is handed to the {@linkcode SuspensionShare}.
 */
export type SuspensionOrigin = "rule" | "admin" | "health" | "cluster";

/** A suspension in force. */
export interface ActiveSuspension {
  /** `"ProxyUnhealthy"`, `"Unplumbed"`, `"HealthCheck"` or an operator's reason. */
  reason: string;
  /** Seconds until it ends by itself; `Infinity` for a health-check suspension. */
  remaining: number;
  /** With a {@linkcode SuspensionShare}: whether it is shared with the other instances (not `HealthCheck`). */
  clusterWide?: boolean;
  /** With a {@linkcode SuspensionShare}: the `cluster.instance` that set it. */
  instance?: string;
}

/** The state of a suspension in force. */
interface SuspensionState {
  reason: string;
  /** Clock time it ends, milliseconds (`Infinity`: a health-check suspension). */
  expiresAt: number;
  /** Who set it, with a share: this instance's name or another's. */
  instance: string | undefined;
  /** Whether it is shared. */
  shared: boolean;
}

/** Options of {@linkcode SourceSuspension}. */
export interface SourceSuspensionOptions {
  /** The source's `suspend_when_*` rules, by failure kind. */
  rules?: Partial<Record<FailureKind, SuspendRule>>;
  /** Receives the metric signals. */
  observer: EgressObserver;
  /** Time and timers for expiries and windows; default {@linkcode SYSTEM_CLOCK}. Tests pass one they advance. */
  clock?: Clock;
  /** Where this instance's suspensions are shared (`cluster`); default none (process-local). */
  share?: SuspensionShare;
  /** `share_failure_windows`: count Threshold failures through {@linkcode share} across instances. */
  shareFailures?: boolean;
}

/** Human text of a duration in seconds. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "until its health check passes";
  return `${Number(seconds.toFixed(3))}s`;
}

/**
 * Suspension and failure bookkeeping of one source, and whether it is
 * healthy (not suspended, health check passing); see the module docs. Each
 * `EgressSource` has one, as `source.suspension`.
 */
export class SourceSuspension {
  /** Name of the source (the `source` label). */
  readonly source: string;
  #rules: Partial<Record<FailureKind, SuspendRule>>;
  #observer: EgressObserver;
  #clock: Clock;
  #failures: Record<FailureKind, RollingCount>;
  #windowSeconds: number;
  #state: SuspensionState | undefined;
  #share: SuspensionShare | undefined;
  #shareFailures: boolean;
  #timer: ClockTimer | undefined;
  #checksUp = true;
  #healthy = true;

  /**
   * @param source the source's name (the `source` label of the observer calls)
   * @param options its rules, the observer, and the clock
   */
  constructor(source: string, options: SourceSuspensionOptions) {
    this.source = source;
    this.#rules = options.rules ?? {};
    this.#observer = options.observer;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#share = options.share;
    this.#shareFailures = options.shareFailures === true && options.share !== undefined;
    const periods = Object.values(this.#rules)
      .map((rule) => (rule && rule.trigger !== "Immediate" ? rule.trigger.period : 0))
      .filter((p) => p > 0);
    this.#windowSeconds = periods.length > 0 ? Math.max(...periods) : DEFAULT_FAILURE_WINDOW_SECONDS;
    this.#failures = {
      ProxyUnhealthy: new RollingCount(this.#windowSeconds),
      Unplumbed: new RollingCount(this.#windowSeconds),
    };
  }

  /** The suspension in force, or `undefined`. */
  current(): ActiveSuspension | undefined {
    const state = this.#state;
    if (state === undefined) return undefined;
    const remainingMs = state.expiresAt - this.#clock.now();
    if (remainingMs <= 0) return undefined;
    const remaining = remainingMs / 1000;
    if (this.#share === undefined) return { reason: state.reason, remaining };
    return { reason: state.reason, remaining, clusterWide: state.shared, instance: state.instance };
  }

  /**
   * Whether the source is usable: not suspended, and its health check (if
   * any) passing. The `egress_source_healthy` gauge.
   */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Whether the last health-check verdict was "up" (`true` when there is no health check). */
  get checksUp(): boolean {
    return this.#checksUp;
  }

  /**
   * Classified failures in the current window: the longest `Threshold`
   * period among the source's rules, else
   * {@linkcode DEFAULT_FAILURE_WINDOW_SECONDS}.
   */
  failuresInWindow(): { count: number; windowSeconds: number } {
    const now = this.#clock.now();
    const count = this.#failures.ProxyUnhealthy.count(now, this.#windowSeconds) +
      this.#failures.Unplumbed.count(now, this.#windowSeconds);
    return { count, windowSeconds: this.#windowSeconds };
  }

  /**
   * Record a classified connection failure (always counted, as KumoMTA's
   * `egress_source_connection_failures_total`), then evaluate the matching
   * `suspend_when_*` rule: `Immediate` suspends now; a threshold suspends
   * once `limit` failures of this kind fall inside its rolling `period`.
   * With `shareFailures`, a threshold counts the failures of every
   * instance (a sorted set in Redis): the answer comes later, so the rule
   * fires asynchronously and this returns `false`; when the shared count
   * is unavailable the local count decides.
   *
   * @returns whether a rule fired (now).
   */
  recordFailure(kind: FailureKind): boolean {
    const now = this.#clock.now();
    this.#failures[kind].add(now);
    this.#observer.connectionFailed(this.source, kind);
    const rule = this.#rules[kind];
    if (rule === undefined) return false;
    const trigger = rule.trigger;
    if (trigger !== "Immediate" && this.#shareFailures) {
      const local = this.#failures[kind].count(now, trigger.period);
      void this.#share!.countFailure(this.source, kind, trigger.period).then((shared) => {
        if ((shared ?? local) >= trigger.limit) this.suspend(kind, rule.duration, "rule");
      });
      return false;
    }
    const fired = rule.trigger === "Immediate" ||
      this.#failures[kind].count(now, rule.trigger.period) >= rule.trigger.limit;
    if (fired) this.suspend(kind, rule.duration, "rule");
    return fired;
  }

  /**
   * Suspend for `seconds` (`Infinity`: until cleared) with `reason`; see the
   * module docs for the transitions.
   */
  suspend(reason: string, seconds: number, origin: Exclude<SuspensionOrigin, "cluster">): void {
    this.#install(reason, seconds, origin, this.#share?.instance);
    if (origin !== "health" && Number.isFinite(seconds)) this.#share?.suspended(this.source, reason, seconds);
  }

  /**
   * Apply a suspension another instance made (`instance`, through the
   * shared store): the same transitions as {@linkcode suspend}, not handed
   * back to the share. A local `HealthCheck` suspension stays (its end is
   * this instance's health-check verdict).
   *
   * @param seconds how long it has left, seconds (the key's TTL)
   */
  applyShared(reason: string, seconds: number, instance: string): void {
    if (this.#state?.reason === HEALTH_CHECK_REASON && this.current() !== undefined) return;
    this.#install(reason, seconds, "cluster", instance);
  }

  /**
   * Another instance (`instance`) cleared the suspension, or it was found
   * gone from the shared store: end a shared one now (a local
   * `HealthCheck` suspension stays).
   *
   * @returns whether a suspension was in force and ended.
   */
  clearShared(instance: string): boolean {
    const state = this.#state;
    if (state === undefined || !state.shared) return false;
    const active = state.expiresAt > this.#clock.now();
    this.#remove();
    if (active) {
      log.info("egress source {source} suspension cleared by instance {instance} ({reason})", {
        source: this.source,
        reason: state.reason,
        instance,
      });
    }
    return active;
  }

  /** Install a suspension and log the transition (see the module docs). */
  #install(reason: string, seconds: number, origin: SuspensionOrigin, instance: string | undefined): void {
    const now = this.#clock.now();
    const expiresAt = now + seconds * 1000;
    const prior = this.#state;
    // Another instance's suspension arrives with what is left of it, a few
    // milliseconds short ("599.998s"): the log shows whole seconds, the
    // expiry stays exact.
    const shown = origin === "cluster" && seconds >= 1 ? Math.round(seconds) : seconds;
    const fields: Record<string, string> = { source: this.source, reason, duration: formatSeconds(shown) };
    if (origin === "cluster") fields.instance = instance ?? "-";
    const shared = this.#share !== undefined && origin !== "health";
    this.#state = { reason, expiresAt, instance, shared };
    if (prior !== undefined && prior.expiresAt > now && prior.reason === reason) {
      log.debug("egress source {source} suspension extended ({reason}): {duration} from now", fields);
    } else {
      if (prior !== undefined) this.#observer.unsuspended(this.source, prior.reason);
      this.#observer.suspended(this.source, reason);
      if (origin === "rule") log.warn("egress source {source} auto-suspended for {duration} ({reason})", fields);
      else if (origin === "admin") {
        log.warn("egress source {source} suspended by an operator for {duration} ({reason})", fields);
      } else if (origin === "cluster") {
        log.warn("egress source {source} suspended by instance {instance} for {duration} ({reason})", fields);
      } else log.warn("egress source {source} suspended {duration} ({reason})", fields);
    }
    this.#arm();
    this.#updateHealthy();
  }

  /**
   * End the suspension now (an operator's `clear`, or a passing health
   * check). With `onlyReason`, only a suspension for that reason is ended.
   * An operator's clear also resets the health-check verdict to up.
   *
   * @returns whether a suspension was in force and ended.
   */
  clear(origin: "admin" | "health", onlyReason?: string): boolean {
    // An operator's clear reaches every instance, whatever this one holds.
    if (origin === "admin") this.#share?.cleared(this.source);
    const state = this.#state;
    if (state === undefined || (onlyReason !== undefined && state.reason !== onlyReason)) return false;
    const active = state.expiresAt > this.#clock.now();
    // An operator's clear also forgets the health-check verdict: a failing
    // check takes the source down again on its next failure.
    if (origin === "admin") this.#checksUp = true;
    this.#remove();
    if (active) {
      const fields = { source: this.source, reason: state.reason };
      if (origin === "admin") log.info("egress source {source} suspension cleared by an operator ({reason})", fields);
      else log.info("egress source {source} health check passed; suspension cleared ({reason})", fields);
    }
    return active;
  }

  /**
   * The verdict of the health checker changed: down suspends with reason
   * {@linkcode HEALTH_CHECK_REASON} until it is up again, which clears that
   * suspension (and no other).
   */
  setChecksUp(up: boolean): void {
    if (up === this.#checksUp) return;
    this.#checksUp = up;
    if (up) this.clear("health", HEALTH_CHECK_REASON);
    else this.suspend(HEALTH_CHECK_REASON, Infinity, "health");
    this.#updateHealthy();
  }

  /** Stop the expiry timer (the state stays as it is). */
  dispose(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #remove(): void {
    const state = this.#state;
    if (state === undefined) return;
    this.#state = undefined;
    this.dispose();
    this.#observer.unsuspended(this.source, state.reason);
    this.#updateHealthy();
  }

  /** (Re-)arm the expiry timer for the current state. */
  #arm(): void {
    this.dispose();
    const state = this.#state;
    if (state === undefined || !Number.isFinite(state.expiresAt)) return;
    const delay = Math.min(Math.max(0, state.expiresAt - this.#clock.now()), MAX_TIMER_MS);
    this.#timer = this.#clock.setTimeout(() => this.#expire(state), delay);
  }

  #expire(state: SuspensionState): void {
    if (this.#state !== state) return;
    if (state.expiresAt > this.#clock.now()) {
      this.#arm(); // a timer shorter than the suspension (very long durations)
      return;
    }
    this.#remove();
    log.info("egress source {source} auto-suspension cleared ({reason})", {
      source: this.source,
      reason: state.reason,
    });
  }

  #updateHealthy(): void {
    const healthy = this.#checksUp && this.current() === undefined;
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    this.#observer.healthChanged(this.source, healthy);
  }
}
