/**
 * A bounded set of keys in least-recently-used order, used to cap the series
 * of a high-cardinality metric (KumoMTA prunes its outbound-destination
 * counter for the same reason).
 *
 * @module
 */

/**
 * Keys with a capacity: {@linkcode touch} marks a key as most recently used,
 * adding it when new; adding past the capacity evicts the least recently
 * used key first and hands it to `onEvict`.
 *
 * @example
 * ```ts
 * const lru = new LruKeys<string>(2, (k) => console.log("evicted", k));
 * lru.touch("a"); lru.touch("b"); lru.touch("a"); lru.touch("c"); // evicted b
 * ```
 */
export class LruKeys<K> {
  // A Map iterates in insertion order: re-inserting moves a key to the end.
  #keys = new Map<K, true>();
  readonly #capacity: number;
  readonly #onEvict: (key: K) => void;

  /**
   * @param capacity largest number of keys kept (at least 1)
   * @param onEvict called with each key dropped to make room
   * @throws {RangeError} when `capacity` is not a positive integer
   */
  constructor(capacity: number, onEvict: (key: K) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
    this.#onEvict = onEvict;
  }

  /** Mark `key` as most recently used; add it (evicting the least recently used key if full). */
  touch(key: K): void {
    if (this.#keys.delete(key)) {
      this.#keys.set(key, true);
      return;
    }
    if (this.#keys.size >= this.#capacity) {
      const oldest = this.#keys.keys().next().value as K;
      this.#keys.delete(oldest);
      this.#onEvict(oldest);
    }
    this.#keys.set(key, true);
  }

  /** Number of keys held. */
  get size(): number {
    return this.#keys.size;
  }
}
