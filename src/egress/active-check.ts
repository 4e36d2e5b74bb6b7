/**
 * Active health checks of a proxy source (what Caddy layer4's
 * `health_checks.active` does for its upstreams, and KumoMTA lacks): every
 * `interval` seconds a real exchange with the upstream proxy (see
 * `EgressSource.probe`), bounded by `timeout`. `fall` consecutive failures
 * mark the source down, which suspends it with reason `HealthCheck`; `rise`
 * consecutive successes mark it up again and clear that suspension.
 *
 * @module
 */
import { getLog } from "../log/index.ts";
import { type Clock, type ClockTimer, SYSTEM_CLOCK } from "./clock.ts";
import type { EgressSource } from "./source.ts";
import type { HealthCheckSpec } from "./spec.ts";

const log = getLog("egress");

/** What an {@linkcode ActiveCheck} uses of a source: its name, its probe and its suspension state. */
export type CheckedSource = Pick<EgressSource, "name" | "probe" | "suspension">;

/** Options of {@linkcode ActiveCheck}. */
export interface ActiveCheckOptions {
  /** Schedules the checks every `interval`; default {@linkcode SYSTEM_CLOCK}. Tests pass one they advance. */
  clock?: Clock;
}

/**
 * Runs the active health checks of one source (its `health_check`) until
 * stopped, and feeds their verdict to the source's suspension state.
 */
export class ActiveCheck {
  /** The source checked. */
  readonly source: CheckedSource;
  /** Interval, timeout (seconds), fall and rise. */
  readonly spec: Readonly<HealthCheckSpec>;
  #failures = 0;
  #successes = 0;
  #clock: Clock;
  #timer: ClockTimer | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  /**
   * @param source a SOCKS5 or HAProxy source
   * @param spec the check's settings (the source's `health_check`)
   * @param options the clock that spaces the checks
   */
  constructor(source: CheckedSource, spec: HealthCheckSpec, options: ActiveCheckOptions = {}) {
    this.source = source;
    this.spec = spec;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Start checking: the first check runs after one `interval`. Idempotent. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stop checking; resolves once a check in progress has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * Resolves once the scheduled check in progress, if any, has been applied
   * and the next one scheduled; at once when none is running. With a manual
   * clock: advance it past the interval, then await this.
   */
  async settled(): Promise<void> {
    await this.#running;
  }

  /**
   * Run one check now and apply its verdict.
   *
   * @returns whether the check passed.
   */
  async checkNow(): Promise<boolean> {
    let passed = true;
    let why = "";
    try {
      await this.source.probe(this.spec.timeout);
    } catch (error) {
      passed = false;
      why = error instanceof Error ? error.message : String(error);
    }
    const state = this.source.suspension;
    if (passed) {
      this.#failures = 0;
      this.#successes++;
      if (!state.checksUp && this.#successes >= this.spec.rise) {
        log.info("egress source {source} health check passed {count} times: up", {
          source: this.source.name,
          count: this.#successes,
        });
        state.setChecksUp(true);
      }
    } else {
      this.#successes = 0;
      this.#failures++;
      log.debug("egress source {source} health check failed: {error}", { source: this.source.name, error: why });
      if (state.checksUp && this.#failures >= this.spec.fall) {
        log.warn("egress source {source} health check failed {count} times: down ({error})", {
          source: this.source.name,
          count: this.#failures,
          error: why,
        });
        state.setChecksUp(false);
      }
    }
    return passed;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.checkNow().then(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, this.spec.interval * 1000);
  }
}
