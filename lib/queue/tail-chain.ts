/**
 * One key's line in the queue core (tail-queue.ts): its head run, the tail
 * that runs waiting behind it chain onto, and its count. A chain outlives its
 * episodes: the index keeps it, idle, for the key's next run (tail-index.ts).
 */
import type { IndexSlot } from './tail-index.js';
import type { WaitingLine } from './wait-hooks.js';

export class TailChain<K, S> implements WaitingLine<S>, IndexSlot {
  /** The first task's own promise while it runs; undefined during its synchronous part and once it settled. */
  head: Promise<unknown> | undefined = undefined;
  /** Settles, never rejects, once the newest waiting run is done; undefined until a run waits. */
  tail: Promise<void> | undefined = undefined;
  /** Tasks running or waiting; a run that left no longer counts. */
  depth = 0;
  watch: S | undefined = undefined;
  /** Set by the index when no run counts any more: the key is released, its next run reuses this chain. */
  isIdle = false;
  /** Set by the index while the key waits for its next reclaiming pass. */
  isNoted = false;
  /**
   * The head run's handlers: each settles the run, then passes its outcome on to
   * the caller. Made once per chain, so an uncontended run makes no closure.
   */
  readonly passValue: (value: unknown) => unknown;
  readonly passError: (error: unknown) => never;

  /**
   * @param key the chain's key, for `settleHead`
   * @param settleHead the queue's one callback for a settled head (per queue, not per chain:
   *   a chain made for a new key then costs one closure context, shared by its two handlers)
   */
  constructor(
    readonly key: K,
    settleHead: (chain: TailChain<K, S>) => void,
  ) {
    // `head` is let go first: a run still waiting has linked behind it already (it set `tail`),
    // and a key kept busy must not keep its first task's value or error alive (NFR-3).
    this.passValue = (value) => {
      this.head = undefined;
      settleHead(this);
      return value;
    };
    this.passError = (error) => {
      this.head = undefined;
      settleHead(this);
      throw error;
    };
  }

  get waiting(): number {
    return Math.max(0, this.depth - 1);
  }
}
