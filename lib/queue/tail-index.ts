/**
 * The queue's index of live tail chains by key. A chain comes and goes with
 * every uncontended run (added on arrival, deleted when it settles), and a V8
 * Map churning one entry like that keeps re-allocating its hash table. So
 * string keys, the common case (file paths), live in a null-prototype
 * dictionary object; any other key in a Map, which compares keys as the queue
 * promises (SameValueZero). What the dictionary buys is measured by the
 * "index" rows of bench/queue.bench.mjs (figures in docs/DESIGN.md §3).
 */
export class TailIndex<K, V> {
  // Null prototype: no inherited names, and "__proto__" is an ordinary key.
  readonly #byString: Record<string, V | undefined> = Object.create(null) as Record<string, V | undefined>;
  readonly #byValue = new Map<K, V>();
  #stringCount = 0;

  get size(): number {
    return this.#stringCount + this.#byValue.size;
  }

  get(key: K): V | undefined {
    return typeof key === 'string' ? this.#byString[key] : this.#byValue.get(key);
  }

  /** Adds a key that is not present (the queue only sets keys it just found absent). */
  add(key: K, value: V): void {
    if (typeof key === 'string') {
      this.#byString[key] = value;
      this.#stringCount += 1;
    } else {
      this.#byValue.set(key, value);
    }
  }

  /** Removes a key that is present. */
  delete(key: K): void {
    if (typeof key === 'string') {
      delete this.#byString[key];
      this.#stringCount -= 1;
    } else {
      this.#byValue.delete(key);
    }
  }
}
