/**
 * One key's line in the queue core (tail-queue.ts): its head run, the tail
 * that runs waiting behind it chain onto, and its count. A chain outlives its
 * episodes: the index keeps it, idle, for the key's next run (tail-index.ts).
 */
import type { IndexSlot } from './tail-index.js';
import type { WaitingLine } from './wait-hooks.js';

export interface TailChain<K, S> extends WaitingLine<S>, IndexSlot {
  readonly key: K;
  /** The first task's own promise while it runs; undefined during its synchronous part and once it settled. */
  head: Promise<unknown> | undefined;
  /** Settles, never rejects, once the newest waiting run is done; undefined until a run waits. */
  tail: Promise<void> | undefined;
  /** Tasks running or waiting; a run that left no longer counts. */
  depth: number;
  /**
   * The head run's handlers: each settles the run, then passes its outcome on to
   * the caller. Made once per chain, so an uncontended run makes no closure.
   */
  readonly passValue: (value: unknown) => unknown;
  readonly passError: (error: unknown) => never;
}

/**
 * A new, live chain for `key`.
 *
 * A plain object, not a class instance. With a class, V8 (Node 20) built
 * objects of one queue into its optimised code for the uncontended path, and
 * threw that code away once the queue was collected (a "weak objects"
 * deoptimisation, 152 of them over 25 fresh queues in `node --trace-deopt`,
 * none with a plain object): a process that makes queues over time (tests,
 * the bench's fresh queue per round) ran that path 1.2-1.35x as long
 * (bench/queue.bench.mjs, row "queue core, chain as a class"). One long-lived
 * queue measures the same either way (about 115 ns a run). Every field is
 * written here, in one order, so all chains share one shape.
 *
 * @param settleHead the queue's one callback for a settled head (per queue, not per chain:
 *   a chain made for a new key then costs one closure context, shared by its two handlers)
 */
export function newTailChain<K, S>(key: K, settleHead: (chain: TailChain<K, S>) => void): TailChain<K, S> {
  const chain: TailChain<K, S> = {
    key,
    head: undefined,
    tail: undefined,
    depth: 0,
    watch: undefined,
    isIdle: false,
    isNoted: false,
    // `head` is let go first: a run still waiting has linked behind it already (it set `tail`),
    // and a key kept busy must not keep its first task's value or error alive (NFR-3).
    passValue: (value) => {
      chain.head = undefined;
      settleHead(chain);
      return value;
    },
    passError: (error) => {
      chain.head = undefined;
      settleHead(chain);
      throw error;
    },
  };
  return chain;
}
