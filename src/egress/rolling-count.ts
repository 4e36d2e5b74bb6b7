/**
 * A rolling count of events: how many happened in the last `period` seconds.
 * Backs the `{ Threshold = "N/period" }` trigger of KumoMTA's suspension
 * rules and the "failures in the current window" of the admin listing.
 *
 * @module
 */

/** Most timestamps kept; older ones are dropped first (bounds memory under a failure storm). */
export const MAX_EVENTS = 10_000;

/** Event timestamps (milliseconds), oldest first. */
export class RollingCount {
  #times: number[] = [];
  #keepMs: number;

  /** @param keepSeconds how long events are remembered; the longest window ever asked of {@linkcode count}. */
  constructor(keepSeconds: number) {
    this.#keepMs = keepSeconds * 1000;
  }

  /** Record one event at `now` (milliseconds since the epoch). */
  add(now: number): void {
    this.#prune(now);
    this.#times.push(now);
    if (this.#times.length > MAX_EVENTS) this.#times.splice(0, this.#times.length - MAX_EVENTS);
  }

  /** Events in the `periodSeconds` before `now` (both in the units above). */
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
