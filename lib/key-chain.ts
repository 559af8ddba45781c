/**
 * The per-key state of a SerialQueue: one tail promise plus the bookkeeping
 * behind depth and wait warnings. Internal; never exported from the package.
 */

/** A task that has not started yet, in a singly linked FIFO list. */
export interface Waiter {
  readonly enqueuedAt: number;
  isWaiting: boolean;
  next: Waiter | undefined;
}

export class KeyChain {
  /** Settles (never rejects) when the newest task on this key is done. */
  tail: Promise<void>;
  /** Tasks running or waiting on this key; an aborted waiter no longer counts. */
  depth = 0;
  /** The wait-warning timer, armed only while some task waits. */
  timer: ReturnType<typeof setTimeout> | undefined;
  hasWarnedDepth = false;
  hasWarnedWait = false;
  #oldest: Waiter | undefined;
  #newest: Waiter | undefined;

  constructor(tail: Promise<void>) {
    this.tail = tail;
  }

  /** Tasks queued behind the one that holds the key. */
  get waiting(): number {
    return Math.max(0, this.depth - 1);
  }

  push(enqueuedAt: number): Waiter {
    const waiter: Waiter = { enqueuedAt, isWaiting: true, next: undefined };
    if (this.#newest === undefined) this.#oldest = waiter;
    else this.#newest.next = waiter;
    this.#newest = waiter;
    return waiter;
  }

  /** The longest-waiting task that is still waiting, dropping finished entries. */
  oldestWaiter(): Waiter | undefined {
    while (this.#oldest !== undefined && !this.#oldest.isWaiting) this.#oldest = this.#oldest.next;
    if (this.#oldest === undefined) this.#newest = undefined;
    return this.#oldest;
  }

  clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
