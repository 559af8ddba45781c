/**
 * The per-key state of a SerialQueue: the tail promise of the key's chain,
 * its depth, and (only once some task has had to wait) the wait book-keeping
 * behind warnings. Internal.
 */

/** A task that has not started yet, in a singly linked FIFO list. */
export interface Waiter {
  readonly enqueuedAt: number;
  isWaiting: boolean;
  next: Waiter | undefined;
}

/** Waits on one key: the FIFO of waiters, the warning timer and the once-per-episode flags. */
export class WaitList {
  /** The wait-warning timer, armed only while some task waits. */
  timer: ReturnType<typeof setTimeout> | undefined;
  hasWarnedDepth = false;
  hasWarnedWait = false;
  #oldest: Waiter | undefined;
  #newest: Waiter | undefined;

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

export class KeyChain {
  /**
   * Settles (never rejects) once the newest task on this key is done.
   * Undefined only while the first task of the chain is being started
   * synchronously; a `run` made from inside that start waits on `head`.
   */
  tail: Promise<void> | undefined = undefined;
  /** The first task's tail, for runs made while it was starting. */
  head: Promise<void> | undefined = undefined;
  /** Tasks running or waiting on this key; an aborted waiter no longer counts. */
  depth = 1;
  /** Created when the first task has to wait; an uncontended chain never needs it. */
  waits: WaitList | undefined = undefined;

  /** Tasks queued behind the one that holds the key. */
  get waiting(): number {
    return Math.max(0, this.depth - 1);
  }
}
