/**
 * The descriptor budget: whether a just-accepted connection may start a
 * session, or must be closed at once because the process is about to run
 * out of file descriptors (issue 16).
 *
 * Why it exists: at EMFILE Bun's accept loop (uSockets) retries `accept()`
 * in a busy loop, burns a core and leaves every waiting client without a
 * reply or a close, and reports nothing to JavaScript (oven-sh/bun#32705);
 * the accept is Bun's, so neither a reserve descriptor nor a pause can be
 * applied there. So the server never lets the process reach its limit: a
 * connection accepted while the open descriptors are within
 * {@linkcode budgetMargin} of the soft limit is closed at once (the client
 * sees a close, the listener's backlog drains, nothing spins). The same rule
 * runs on Deno, whose accept loop also backs off on a real EMFILE.
 *
 * Counting: a session holds up to two descriptors (the client and the
 * outbound connection). The real count (`Runtime.descriptors`, a readdir of
 * `/proc/self/fd`) is read when the estimate gets near the limit, at most
 * every {@linkcode REFRESH_MS}; between readings the estimate is the last
 * reading plus two per session started since.
 *
 * @module
 */
import type { DescriptorUsage } from "../runtime/index.ts";

/** Shortest time between two readings of the real descriptor count, ms. */
export const REFRESH_MS = 50;

/**
 * Descriptors kept free below the soft limit for what the estimate does not
 * see (HTTP connections, DNS sockets, files, a session's short-lived extra
 * socket): 2% of the limit, at least 32 and at most 1024.
 *
 * @example
 * ```ts
 * budgetMargin(200);   // 32
 * budgetMargin(20000); // 400
 * ```
 */
export function budgetMargin(limit: number): number {
  return Math.min(1024, Math.max(32, Math.floor(limit / 50)));
}

/** See the module doc. */
export class DescriptorBudget {
  readonly #read: () => DescriptorUsage | undefined;
  readonly #now: () => number;
  #open = 0;
  #limit = 0;
  #sessionsAtRead = 0;
  #readAt = -Infinity;
  #known = false;

  /**
   * @param read the real count (`Runtime.descriptors`); `undefined` (not
   *   Linux) turns the budget off: every connection is admitted
   * @param now the clock, ms (default `performance.now`)
   */
  constructor(read: () => DescriptorUsage | undefined, now: () => number = () => performance.now()) {
    this.#read = read;
    this.#now = now;
  }

  #refresh(sessions: number): void {
    const usage = this.#read();
    this.#readAt = this.#now();
    this.#known = usage !== undefined;
    if (usage === undefined) return;
    this.#open = usage.open;
    this.#limit = usage.limit;
    this.#sessionsAtRead = sessions;
  }

  /** The soft limit of the last reading (0 before the first, or when unknown). */
  get limit(): number {
    return this.#limit;
  }

  /** The estimated open descriptors, for `sessions` sessions open now. */
  estimate(sessions: number): number {
    return this.#open + 2 * Math.max(0, sessions - this.#sessionsAtRead);
  }

  /**
   * Whether a connection just accepted may start a session, `sessions`
   * being the sessions open now (not counting it). False when the
   * estimate is within the margin of the soft limit.
   */
  admit(sessions: number): boolean {
    if (!this.#known && this.#readAt === -Infinity) this.#refresh(sessions);
    if (!this.#known) return true;
    const free = () => this.#limit - this.estimate(sessions);
    const margin = budgetMargin(this.#limit);
    // Near the limit, decide on a fresh reading (at most one per REFRESH_MS);
    // sessions that ended since the last one have given descriptors back.
    if (free() <= 2 * margin && this.#now() - this.#readAt >= REFRESH_MS) this.#refresh(sessions);
    return free() > margin;
  }
}
