/**
 * Rate-limited log lines: at most one line per key (e.g. a client address)
 * per interval, so a client hammering a refused route, a source failing in a
 * loop or a flood of denied requests cannot fill the log. What is held back
 * is counted and reported on the key's next line:
 * `refused 10.0.0.9: not in trusted_hosts (41 similar lines dropped)`.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** The levels a {@linkcode RateLimitedLog} writes at. */
export type RateLimitedLevel = "debug" | "info" | "warn" | "error";

/** Options of {@linkcode rateLimited}. */
export interface RateLimitOptions {
  /** The clock, in milliseconds (default `Date.now`); tests pass their own. */
  now?: () => number;
  /**
   * Most keys remembered at once (default 10000); past it the key that
   * logged longest ago is forgotten (its next line is logged at once, and
   * what it dropped is lost).
   */
  maxKeys?: number;
}

/** What is remembered per key. */
interface KeyState {
  /** When the key's last line was written, ms. */
  at: number;
  /** Lines held back since then. */
  dropped: number;
}

/**
 * One rate limiter over one logger: each key gets at most one line per
 * interval, whatever its level.
 */
export interface RateLimitedLog {
  /**
   * Log `message` (a LogTape template, `{name}` placeholders filled from
   * `properties`) at `level`, unless `key` already logged within the
   * interval: then it is only counted. A line written after a quiet spell
   * ends in ` ({dropped} similar lines dropped)` when lines were held back,
   * with `dropped` also among its properties.
   *
   * @returns `true` when the line was written, `false` when it was held back
   */
  log(level: RateLimitedLevel, key: string, message: string, properties?: Record<string, unknown>): boolean;
  /** {@linkcode RateLimitedLog.log} at `"warn"`. */
  warn(key: string, message: string, properties?: Record<string, unknown>): boolean;
  /** Lines held back for `key` and not yet reported (0 for an unknown key). */
  pending(key: string): number;
}

/** LogTape's method name per level. */
const METHOD = { debug: "debug", info: "info", warn: "warn", error: "error" } as const;

/**
 * A rate limiter writing to `logger`: one line per key per
 * `intervalSeconds`.
 *
 * @param logger where lines go (e.g. `getLog("http")`)
 * @param intervalSeconds the shortest time between two lines of one key, seconds (e.g. 60)
 * @example
 * ```ts
 * const refused = rateLimited(getLog("http"), 60);
 * refused.warn(client, "refused {client}: not in trusted_hosts", { client });
 * ```
 */
export function rateLimited(logger: Logger, intervalSeconds: number, options: RateLimitOptions = {}): RateLimitedLog {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 10_000;
  const interval = intervalSeconds * 1000;
  // Insertion order is the order keys last wrote a line: the first is the oldest.
  const keys = new Map<string, KeyState>();
  const limiter: RateLimitedLog = {
    log(level, key, message, properties = {}) {
      const t = now();
      const state = keys.get(key);
      if (state !== undefined && t - state.at < interval) {
        state.dropped++;
        return false;
      }
      const dropped = state?.dropped ?? 0;
      keys.delete(key);
      keys.set(key, { at: t, dropped: 0 });
      if (keys.size > maxKeys) keys.delete(keys.keys().next().value as string);
      if (dropped > 0) {
        logger[METHOD[level]](`${message} ({dropped} similar lines dropped)`, { ...properties, dropped });
      } else {
        logger[METHOD[level]](message, properties);
      }
      return true;
    },
    warn(key, message, properties) {
      return limiter.log("warn", key, message, properties);
    },
    pending(key) {
      return keys.get(key)?.dropped ?? 0;
    },
  };
  return limiter;
}
