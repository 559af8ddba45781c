import { timerDelay } from '../support/timers.js';

/** The clock is read at call time so jest's fake timers can drive it. */
const now = (): number => globalThis.performance.now();

/**
 * Calls `fire` once `delayMs` have passed since the last `schedule()`, but no
 * later than `maxWaitMs` after the first one of a burst, so a steady stream
 * of changes still fires regularly. One timer at a time: a `schedule()` while
 * armed only records the time, and the timer re-arms itself when it fires
 * early, so a burst of 1,000 changes costs no timer churn. Delays of any
 * length work: beyond the timer limit it re-arms in chunks, and with an
 * Infinity delay nothing is armed (`maxWaitMs` is never below `delayMs`).
 */
export class Debouncer {
  readonly #delayMs: number;
  readonly #maxWaitMs: number;
  readonly #fire: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstAt = 0;
  #lastAt = 0;

  constructor(delayMs: number, maxWaitMs: number, fire: () => void) {
    this.#delayMs = delayMs;
    this.#maxWaitMs = Math.max(delayMs, maxWaitMs);
    this.#fire = fire;
  }

  /** Notes a change: `fire` runs after the quiet period or at the burst's deadline. */
  schedule(): void {
    this.#lastAt = now();
    if (this.#timer !== undefined) return;
    this.#firstAt = this.#lastAt;
    this.#arm(this.#delayMs);
  }

  /** Drops the pending call, if any. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delayMs: number): void {
    const delay = timerDelay(delayMs);
    if (delay === undefined) return;
    // Referenced, as the original's was: a process that ends by itself (a script, a server
    // that closed its listener) stays until the pending save ran, so no acknowledged change is
    // dropped. That is at most maxSaveWaitMs; with saveDebounceMs Infinity only flush() saves.
    this.#timer = setTimeout(() => this.#onTimer(), delay);
  }

  #onTimer(): void {
    this.#timer = undefined;
    const dueAt = Math.min(this.#lastAt + this.#delayMs, this.#firstAt + this.#maxWaitMs);
    const remainingMs = dueAt - now();
    if (remainingMs > 0) {
      this.#arm(remainingMs);
      return;
    }
    this.#fire();
  }
}
