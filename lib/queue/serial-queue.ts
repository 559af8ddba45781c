import { AsyncLocalStorage } from 'node:async_hooks';
import { AbortFanout } from './abort-fanout.js';
import { LockReentryError } from './errors.js';
import { KeyChain } from './key-chain.js';
import { KeyIndex } from './key-index.js';
import { createDefaultLogger, type QueueLogger } from '../support/logger.js';
import { COUNT, DURATION_MS, numberOption } from '../support/options.js';
import { WaitMonitor } from './wait-monitor.js';

export type { QueueLogger } from '../support/logger.js';

/** Options of a {@link SerialQueue}. Every field is optional. */
export interface SerialQueueOptions {
  /** Warn once per episode when more than this many tasks wait on one key. Default 10 (FR-1.4). */
  depthWarningThreshold?: number;
  /** Warn once per episode when a task has waited this long and still not started. Default 5000 (FR-1.4). */
  waitWarningMs?: number;
  /** Report each wait longer than this through `logger.debug` when the task starts. Default 100 (NFR-2). */
  slowWaitMs?: number;
  /** Where warnings and debug lines go. Default: `process.emitWarning` and `util.debuglog`. */
  logger?: QueueLogger;
  /**
   * Reject re-entrant `run` calls with {@link LockReentryError} instead of
   * deadlocking. Default false. Costs every promise in the process: it turns
   * on AsyncLocalStorage, whose promise hooks make each `await` several times
   * slower on Node 20.
   */
  detectReentry?: boolean;
}

/** Options of one {@link SerialQueue.run} call. */
export interface RunOptions {
  /** Aborting while the task waits rejects with `signal.reason`; a started task runs on. */
  signal?: AbortSignal;
}

/** A snapshot of a queue's counters. */
export interface SerialQueueMetrics {
  /** Keys with a task running or waiting. */
  activeKeys: number;
  /** Tasks running or waiting, all keys. */
  pending: number;
  /** Sum of all waits, from `run` to task start; a task that found its key free counts 0. */
  totalWaitTimeMs: number;
  longestWaitMs: number;
  queueDepthWarnings: number;
  waitWarnings: number;
}

/** One running task, as seen by re-entry detection. */
interface Holder {
  readonly queue: object;
  readonly key: unknown;
  isRunning: boolean;
}

let sharedHolders: AsyncLocalStorage<readonly Holder[]> | undefined;

/**
 * The one store behind every detecting queue, created by the first of them.
 * Node 20 keeps each AsyncLocalStorage registered for the life of the
 * process, and its hook touches every new promise once per instance: a store
 * per queue made 300 detecting queues turn every later promise into a
 * 300-property object (a jest worker ran out of memory on bare promises).
 */
function holdersStore(): AsyncLocalStorage<readonly Holder[]> {
  sharedHolders ??= new AsyncLocalStorage<readonly Holder[]>();
  return sharedHolders;
}

/**
 * A per-key serial queue: tasks on one key run one at a time in call order;
 * tasks on different keys never wait for each other. Zero dependencies: one
 * tail promise per key, deleted once its chain settles.
 */
export class SerialQueue<K = string> {
  readonly #chains = new KeyIndex<K, KeyChain>();
  readonly #monitor: WaitMonitor<K>;
  readonly #holders: AsyncLocalStorage<readonly Holder[]> | undefined;
  readonly #aborts = new AbortFanout();
  #pending = 0;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: SerialQueueOptions = {}) {
    this.#monitor = new WaitMonitor<K>(
      {
        // Checked here, once: OptionRangeError (ERR_OPTION_RANGE) names a bad option; Infinity means never.
        depthWarningThreshold: numberOption('depthWarningThreshold', options.depthWarningThreshold, 10, COUNT),
        waitWarningMs: numberOption('waitWarningMs', options.waitWarningMs, 5000, DURATION_MS),
        slowWaitMs: numberOption('slowWaitMs', options.slowWaitMs, 100, DURATION_MS),
      },
      options.logger ?? createDefaultLogger(),
    );
    // Only an opted-in queue touches the store: its first run() switches on
    // promise hooks for the whole process (see detectReentry).
    this.#holders = options.detectReentry === true ? holdersStore() : undefined;
  }

  /**
   * Runs `task` once every earlier task on `key` has settled, and settles with
   * the task's own value or rejection. A failing task never blocks the next.
   * On an idle key the task starts at once, inside this call; behind another
   * task it starts a few microtasks after that task settles.
   *
   * Hazard: awaiting `run` on a key from inside a task running on that same
   * key deadlocks (the inner call waits for the outer task, which waits for
   * it). Use another key, or set `detectReentry` to get a LockReentryError.
   */
  run<T>(key: K, task: () => T | PromiseLike<T>, options?: RunOptions): Promise<T> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.#holders !== undefined && this.#isHeldHere(key)) return Promise.reject(new LockReentryError(key));
    this.#pending += 1;
    const chain = this.#chains.get(key);
    return chain === undefined ? this.#runNow(key, task) : this.#runAfter(key, chain, task, signal);
  }

  /** Tasks running plus waiting on `key`; 0 for an idle key. */
  depth(key: K): number {
    return this.#chains.get(key)?.depth ?? 0;
  }

  /** Keys with a live chain. Returns to 0 when everything has settled (NFR-3). */
  get size(): number {
    return this.#chains.size;
  }

  /** Resolves once no task runs or waits on any key, counting tasks added meanwhile. */
  onIdle(): Promise<void> {
    if (this.#chains.size === 0) return Promise.resolve();
    if (this.#idle === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  /** A snapshot of the counters; wait times run from `run` to task start. */
  metrics(): SerialQueueMetrics {
    const monitor = this.#monitor;
    return {
      activeKeys: this.#chains.size,
      pending: this.#pending,
      totalWaitTimeMs: monitor.totalWaitTimeMs,
      longestWaitMs: monitor.longestWaitMs,
      queueDepthWarnings: monitor.queueDepthWarnings,
      waitWarnings: monitor.waitWarnings,
    };
  }

  /** The uncontended path: no clock, no timer, no extra promise but the tail. */
  #runNow<T>(key: K, task: () => T | PromiseLike<T>): Promise<T> {
    const chain = new KeyChain();
    this.#chains.add(key, chain);
    const result = this.#invoke(key, task);
    // A run made from inside the task's synchronous start queued on `head`
    // and stays the tail.
    const queuedMeanwhile = chain.tail;
    const tail = this.#link(key, chain, result, undefined);
    chain.head = tail;
    if (queuedMeanwhile !== undefined) chain.tail = queuedMeanwhile;
    return result;
  }

  #runAfter<T>(key: K, chain: KeyChain, task: () => T | PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
    chain.depth += 1;
    const waiter = this.#monitor.enqueue(key, chain);
    // The head is still starting (this run comes from inside it): wait for its tail.
    const previous = chain.tail ?? Promise.resolve().then(() => chain.head);
    // Reactions registered here run in the caller's async context, so the
    // caller's AsyncLocalStorage stores reach the task.
    if (signal === undefined) {
      const result = previous.then(() => {
        this.#monitor.start(key, chain, waiter);
        return this.#invoke(key, task);
      });
      this.#link(key, chain, result, undefined);
      return result;
    }

    const state = { isAborted: false };
    const onAbort = (): void => {
      state.isAborted = true;
      this.#monitor.stopWaiting(chain.waits, waiter);
      this.#leave(chain);
      reject(signal.reason);
    };
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason: unknown) => void;
    const result = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#aborts.add(signal, onAbort);
    const outcome = previous.then(() => {
      this.#aborts.remove(signal, onAbort);
      if (state.isAborted) return undefined;
      this.#monitor.start(key, chain, waiter);
      return this.#invoke(key, task);
    });
    // Registered before the link: the caller settles before the key is handed on.
    outcome.then(resolve as (value: T | undefined) => void, reject);
    this.#link(key, chain, outcome, state);
    return result;
  }

  /**
   * Makes `result` the key's new tail. The tail swallows the outcome, so one
   * rejection never poisons the chain; the caller still gets it from `result`.
   */
  #link(key: K, chain: KeyChain, result: Promise<unknown>, abort: { isAborted: boolean } | undefined): Promise<void> {
    const finish = (): void => {
      // An aborted waiter already left the count when it was aborted.
      if (abort === undefined || !abort.isAborted) this.#leave(chain);
      // Identity check: a newer task may have become the tail meanwhile.
      if (chain.tail === tail) this.#drop(key, chain);
    };
    const tail = result.then(finish, finish);
    chain.tail = tail;
    return tail;
  }

  /** A task leaves the count: it settled, or it was aborted while waiting. */
  #leave(chain: KeyChain): void {
    chain.depth -= 1;
    this.#pending -= 1;
  }

  /** The last link of a chain has settled: forget the key. */
  #drop(key: K, chain: KeyChain): void {
    chain.waits?.clearTimer();
    this.#chains.delete(key);
    if (this.#chains.size === 0 && this.#idle !== undefined) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  #invoke<T>(key: K, task: () => T | PromiseLike<T>): Promise<T> {
    try {
      if (this.#holders === undefined) return Promise.resolve(task());
      const holder: Holder = { queue: this, key, isRunning: true };
      const held = this.#holders.getStore() ?? [];
      const result = Promise.resolve(this.#holders.run([...held, holder], task));
      const release = (): void => {
        holder.isRunning = false;
      };
      result.then(release, release);
      return result;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #isHeldHere(key: K): boolean {
    const held = this.#holders?.getStore();
    // SameValueZero, as the Map of chains compares keys: NaN matches NaN.
    return (
      held !== undefined &&
      held.some((holder) => holder.queue === this && holder.isRunning && (holder.key === key || (holder.key !== holder.key && key !== key)))
    );
  }
}
