/**
 * A bounded least-recently-used cache of derived keys by salt, so each salt
 * pays scrypt once. It holds promises: concurrent reads of one salt share one
 * derivation, and a failed derivation is forgotten so a later call retries.
 */

/** Default number of salts kept; each entry is a 32-byte key. */
export const DERIVED_KEY_CACHE_SIZE = 64;

/** Derived keys by salt (hex), least recently used evicted first. */
export class DerivedKeyCache {
  readonly #capacity: number;
  readonly #keys = new Map<string, Promise<Buffer>>();

  constructor(capacity = DERIVED_KEY_CACHE_SIZE) {
    this.#capacity = capacity;
  }

  /** The key for `saltHex`, from the cache or from `derive` (whose result is then cached). */
  get(saltHex: string, derive: () => Promise<Buffer>): Promise<Buffer> {
    const cached = this.#keys.get(saltHex);
    if (cached !== undefined) {
      // Re-inserting moves the entry to the young end of the Map's insertion order.
      this.#keys.delete(saltHex);
      this.#keys.set(saltHex, cached);
      return cached;
    }
    // Wrapped so a derive that throws synchronously is a rejection like any other.
    const derived = Promise.resolve().then(derive);
    this.#keys.set(saltHex, derived);
    derived.catch(() => {
      if (this.#keys.get(saltHex) === derived) this.#keys.delete(saltHex);
    });
    if (this.#keys.size > this.#capacity) {
      const oldest = this.#keys.keys().next();
      if (oldest.done !== true) this.#keys.delete(oldest.value);
    }
    return derived;
  }

  /** Salts cached. */
  get size(): number {
    return this.#keys.size;
  }
}
