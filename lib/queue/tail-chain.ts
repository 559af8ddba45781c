/**
 * One key's line in the queue core (tail-queue.ts): its head run, the tail
 * that runs waiting behind it chain onto, and its count. A chain outlives its
 * episodes: the index keeps it, idle, for the key's next run (tail-index.ts).
 */
import type { IndexSlot } from './tail-index.js';
import type { WaitingLine } from './wait-hooks.js';

export interface TailChain<K, S> extends WaitingLine<S>, IndexSlot {
  readonly key: K;
  /** Opens the gate of the first run waiting behind the head (set by that run); undefined when none waits. */
  wake: (() => void) | undefined;
  /** Settles, never rejects, once the newest waiting run is done; undefined until a run waits. */
  tail: Promise<void> | undefined;
  /** Tasks running or waiting; a run that left no longer counts. */
  depth: number;
  /** Set while a task runs: from its start until its handler (head) or link (waiting run) settles. */
  isRunning: boolean;
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
 * the bench's fresh queue per round) ran that path 1.2-1.5x as long
 * (bench/queue.bench.mjs, row "queue core, chain as a class"). One long-lived
 * queue measured the same either way (a harness that reused one queue for
 * every round, 2026-11-30). Every field is written here, in one order, so all
 * chains share one shape.
 *
 * @param settleHead the queue's one callback for a settled head (per queue, not per chain:
 *   a chain made for a new key then costs one closure context, shared by its two handlers)
 */
export function newTailChain<K, S>(key: K, settleHead: (chain: TailChain<K, S>) => void): TailChain<K, S> {
  const chain: TailChain<K, S> = {
    key,
    wake: undefined,
    tail: undefined,
    depth: 0,
    // Stryker disable next-line BooleanLiteral: equivalent, #start sets it before anything reads it.
    isRunning: false,
    watch: undefined,
    isIdle: false,
    isNoted: false,
    // The gate opens before the run is settled: a run that waited and left may leave nothing
    // counted, and the release that follows drops `wake`.
    passValue: (value) => {
      chain.isRunning = false;
      openGate(chain);
      settleHead(chain);
      return value;
    },
    passError: (error) => {
      chain.isRunning = false;
      openGate(chain);
      settleHead(chain);
      throw error;
    },
  };
  return chain;
}

function openGate(chain: TailChain<unknown, unknown>): void {
  const wake = chain.wake;
  chain.wake = undefined;
  wake?.();
}
