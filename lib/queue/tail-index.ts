/**
 * The queue's index of chains by key, built for churn: a key's chain comes
 * and goes with every uncontended run. String keys, the common case (file
 * paths), live in a null-prototype dictionary object, any other key in a Map,
 * which compares keys as the queue promises (SameValueZero).
 *
 * A key whose chain has settled is released, not deleted: its chain stays,
 * marked idle, for the key's next run to reuse. That saves the run a new
 * chain and two writes to the index (a `delete` alone cost about as much as
 * the rest of an uncontended run's bookkeeping). Idle chains are dropped in
 * one pass once more keys were released than are live (and at least
 * RECLAIM_AFTER), so they never outnumber that bound (NFR-3) and the pass
 * costs O(1) per release. Measured by bench/queue.bench.mjs ("index" rows).
 */

/** Releases tolerated before a reclaiming pass, whatever the number of live keys. */
export const RECLAIM_AFTER = 1024;

/** What the index keeps on a value: whether its key has been released. */
export interface IndexSlot {
  isIdle: boolean;
}

export class TailIndex<K, V extends IndexSlot> {
  // Null prototype: no inherited names, and "__proto__" is an ordinary key.
  #byString = Object.create(null) as Record<string, V | undefined>;
  readonly #byValue = new Map<K, V>();
  #live = 0;
  #released = 0;

  /** Keys with a live (not idle) value. */
  get size(): number {
    return this.#live;
  }

  /** The key's value, live or idle. */
  get(key: K): V | undefined {
    return typeof key === 'string' ? this.#byString[key] : this.#byValue.get(key);
  }

  /** Adds a live value under a key that has none. */
  add(key: K, value: V): void {
    if (typeof key === 'string') this.#byString[key] = value;
    else this.#byValue.set(key, value);
    this.#live += 1;
  }

  /** Makes an idle value, found by {@link get}, live again. */
  revive(value: V): void {
    value.isIdle = false;
    this.#live += 1;
  }

  /** Releases a live value's key: the value stays, idle, until a reclaiming pass drops it. */
  release(value: V): void {
    value.isIdle = true;
    this.#live -= 1;
    this.#released += 1;
    if (this.#released > RECLAIM_AFTER && this.#released > this.#live) this.#reclaim();
  }

  #reclaim(): void {
    const live = Object.create(null) as Record<string, V | undefined>;
    for (const key in this.#byString) {
      const value = this.#byString[key];
      if (value !== undefined && !value.isIdle) live[key] = value;
    }
    this.#byString = live;
    for (const [key, value] of this.#byValue) if (value.isIdle) this.#byValue.delete(key);
    this.#released = 0;
  }
}
