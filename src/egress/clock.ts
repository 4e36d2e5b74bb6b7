/**
 * The clock egress keeps time with: suspension expiries, the rolling
 * windows of threshold rules, and the interval of active health checks.
 * {@linkcode SYSTEM_CLOCK} is the real one; tests pass a clock they advance
 * by hand, so a 2 s suspension expires without waiting 2 s. (The bound on
 * one connect or one health-check exchange is I/O and stays on real time.)
 *
 * @example
 * ```ts
 * const start = SYSTEM_CLOCK.now();
 * const timer = SYSTEM_CLOCK.setTimeout(() => console.log(SYSTEM_CLOCK.now() - start), 100);
 * SYSTEM_CLOCK.clearTimeout(timer); // never mind
 * ```
 *
 * @module
 */
import { clearTimeout as clearTimer, setTimeout as setTimer } from "node:timers";

/** A timer of a {@linkcode Clock}: opaque, only given back to its `clearTimeout`. */
export type ClockTimer = unknown;

/** Monotonic time and one-shot timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale with an arbitrary origin: only differences mean something. */
  now(): number;
  /**
   * Call `callback` once, `ms` milliseconds from now. The timer does not
   * keep the process alive.
   */
  setTimeout(callback: () => void, ms: number): ClockTimer;
  /** Cancel a timer of {@linkcode Clock.setTimeout}; one that already fired or was cancelled is ignored. */
  clearTimeout(timer: ClockTimer): void;
}

/**
 * The real clock: `performance.now()` and `node:timers` timers, unref'd so
 * that a pending suspension expiry or health check never holds the process
 * open.
 */
export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimer(callback, ms);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (timer) => clearTimer(timer as ReturnType<typeof setTimer>),
};
