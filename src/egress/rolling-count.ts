/**
 * A rolling count of events: how many happened in the last `period` seconds.
 * Backs the `{ Threshold = "N/period" }` trigger of KumoMTA's suspension
 * rules and the "failures in the current window" of the admin listing.
 *
 * It keeps no clock of its own: every call is given `now`, in milliseconds
 * of one monotonic clock (the `Clock.now()` of `SourceSuspension`:
 * `performance.now()` for real, virtual time in tests). Only differences
 * between those values matter, so any origin works, as long as one count is
 * always fed from the same clock.
 *
 * @module
 */

/** Most timestamps kept; older ones are dropped first (bounds memory under a failure storm). */
export const MAX_EVENTS = 10_000;

/** Events on a monotonic millisecond clock, oldest first; see the module docs. */
export class RollingCount {
  #times: number[] = [];
  #keepMs: number;

  /** @param keepSeconds how long events are remembered; the longest window ever asked of {@linkcode count}. */
  constructor(keepSeconds: number) {
    this.#keepMs = keepSeconds * 1000;
  }

  /** Record one event at `now` (monotonic milliseconds, the clock every call uses). */
  add(now: number): void {
    this.#prune(now);
    this.#times.push(now);
    if (this.#times.length > MAX_EVENTS) this.#times.splice(0, this.#times.length - MAX_EVENTS);
  }

  /** Events in the `periodSeconds` before `now` (monotonic milliseconds, as given to {@linkcode add}). */
  count(now: number, periodSeconds: number): number {
    this.#prune(now);
    const since = now - periodSeconds * 1000;
    let n = 0;
    for (let i = this.#times.length - 1; i >= 0 && this.#times[i] > since; i--) n++;
    return n;
  }

  #prune(now: number): void {
    const oldest = now - this.#keepMs;
    let drop = 0;
    while (drop < this.#times.length && this.#times[drop] <= oldest) drop++;
    if (drop > 0) this.#times.splice(0, drop);
  }
}
