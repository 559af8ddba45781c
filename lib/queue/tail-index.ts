/**
 * The queue's index of live chains by key. A chain comes and goes with every
 * uncontended run (set on arrival, deleted when it settles), and a V8 Map
 * that churns one entry like that keeps re-growing its hash table; a
 * null-prototype object does not. So string keys, the common case (file
 * paths), live in a dictionary object, and any other key in a Map, which
 * compares keys as the queue promises (SameValueZero). What it buys is
 * measured by bench/queue.bench.mjs ("uncontended", "contended" rows).
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

  /** Adds a key that is not present (the queue only adds keys it just found absent). */
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
