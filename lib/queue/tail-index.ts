/**
 * The queue's index of chains by key, built for churn: a key's chain comes
 * and goes with every uncontended run. String keys, the common case (file
 * paths), live in a null-prototype dictionary object, any other key in a Map,
 * which compares keys as the queue promises (SameValueZero).
 *
 * A key whose chain has settled is released, not deleted at once: its chain
 * stays, marked idle, for the key's next run to reuse. That saves the run a
 * new chain, a write and a `delete`, which alone cost about as much as the
 * rest of an uncontended run's bookkeeping. Released keys are noted (each
 * once, however often it is released), and every RECLAIM_AFTER releases those
 * still idle are deleted in one pass, so idle chains stay bounded (NFR-3) and
 * each release costs O(1). What it buys:
 * bench/queue.bench.mjs (rows "queue core" against "queue core, keys deleted").
 */

/** Releases between two reclaiming passes: the most idle chains the index keeps. */
export const RECLAIM_AFTER = 1024;

/** What the index keeps on a value: whether its key has been released, and whether it is noted. */
export interface IndexSlot {
  isIdle: boolean;
  isNoted: boolean;
}

export class TailIndex<K, V extends IndexSlot> {
  // Null prototype: no inherited names, and "__proto__" is an ordinary key.
  readonly #byString = Object.create(null) as Record<string, V | undefined>;
  readonly #byValue = new Map<K, V>();
  #live = 0;
  /** Keys released since the last pass, each once (a key released 1,000 times is noted once). */
  #released: K[] = [];
  #releases = 0;

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

  /** Releases a key's live value: it stays, idle, until the next reclaiming pass. */
  release(key: K, value: V): void {
    value.isIdle = true;
    this.#live -= 1;
    if (!value.isNoted) {
      value.isNoted = true;
      this.#released.push(key);
    }
    if (++this.#releases >= RECLAIM_AFTER) this.#reclaim();
  }

  /** Deletes the released keys whose value is still idle; a revived one stays. */
  #reclaim(): void {
    const released = this.#released;
    this.#released = [];
    this.#releases = 0;
    for (const key of released) {
      // Every noted key still has its value: only this pass deletes.
      const value = this.get(key)!;
      value.isNoted = false;
      if (!value.isIdle) continue;
      if (typeof key === 'string') delete this.#byString[key];
      else this.#byValue.delete(key);
    }
  }
}
