import { AsyncLocalStorage } from 'node:async_hooks';
import { LockReentryError } from './errors.js';
import { KeyChain, type Waiter } from './key-chain.js';
import { createDefaultLogger, type QueueLogger } from './logger.js';

export type { QueueLogger } from './logger.js';

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
  /** Sum of all waits, from `run` to task start. */
  totalWaitTimeMs: number;
  longestWaitMs: number;
  queueDepthWarnings: number;
  waitWarnings: number;
}

/** One running task, as seen by re-entry detection. */
interface Holder {
  readonly key: unknown;
  isRunning: boolean;
}

const settled = Promise.resolve();

/** The clock is read at call time so jest's fake timers can drive it. */
const now = (): number => globalThis.performance.now();

/**
 * A per-key serial queue: tasks on one key run one at a time in call order;
 * tasks on different keys never wait for each other. Zero dependencies: one
 * tail promise per key, deleted once its chain settles.
 */
export class SerialQueue<K = string> {
  readonly #chains = new Map<K, KeyChain>();
  readonly #depthWarningThreshold: number;
  readonly #waitWarningMs: number;
  readonly #slowWaitMs: number;
  readonly #logger: QueueLogger;
  readonly #holders: AsyncLocalStorage<readonly Holder[]> | undefined;
  #pending = 0;
  #totalWaitTimeMs = 0;
  #longestWaitMs = 0;
  #queueDepthWarnings = 0;
  #waitWarnings = 0;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: SerialQueueOptions = {}) {
    this.#depthWarningThreshold = options.depthWarningThreshold ?? 10;
    this.#waitWarningMs = options.waitWarningMs ?? 5000;
    this.#slowWaitMs = options.slowWaitMs ?? 100;
    this.#logger = options.logger ?? createDefaultLogger();
    // Only an opted-in queue creates a store: its first run() switches on
    // promise hooks for the whole process (see detectReentry).
    this.#holders = options.detectReentry === true ? new AsyncLocalStorage<readonly Holder[]>() : undefined;
  }

  /**
   * Runs `task` once every earlier task on `key` has settled, and settles with
   * the task's own value or rejection. A failing task never blocks the next.
   *
   * Hazard: calling `run` on the same key from inside a task running on that
   * key deadlocks (the inner call waits for the outer task, which waits for
   * it). Use another key, or set `detectReentry` to get a LockReentryError.
   */
  run<T>(key: K, task: () => T | PromiseLike<T>, options: RunOptions = {}): Promise<T> {
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.#isHeldHere(key)) return Promise.reject(new LockReentryError(key));

    const enqueuedAt = now();
    let chain = this.#chains.get(key);
    const previous = chain?.tail ?? settled;
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    if (chain === undefined) {
      chain = new KeyChain(turn);
      this.#chains.set(key, chain);
    }
    chain.tail = turn;
    chain.depth += 1;
    this.#pending += 1;
    const waiter = chain.depth > 1 ? this.#wait(key, chain, enqueuedAt) : undefined;

    return new Promise<T>((resolve, reject) => {
      let isAborted = false;
      const onAbort = (): void => {
        isAborted = true;
        this.#leave(chain, waiter);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });

      // The task starts in a reaction registered here, in the caller's async
      // context, so the caller's AsyncLocalStorage stores reach it.
      void previous.then(() => {
        signal?.removeEventListener('abort', onAbort);
        if (isAborted) {
          this.#pass(key, chain, turn, release);
          return;
        }
        this.#start(key, chain, waiter, enqueuedAt);
        const holder: Holder = { key, isRunning: true };
        const finish = (): void => {
          holder.isRunning = false;
          this.#leave(chain, undefined);
          this.#pass(key, chain, turn, release);
        };
        this.#invoke(holder, task).then(
          (value) => {
            finish();
            resolve(value);
          },
          (error: unknown) => {
            finish();
            reject(error);
          },
        );
      });
    });
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
    return {
      activeKeys: this.#chains.size,
      pending: this.#pending,
      totalWaitTimeMs: this.#totalWaitTimeMs,
      longestWaitMs: this.#longestWaitMs,
      queueDepthWarnings: this.#queueDepthWarnings,
      waitWarnings: this.#waitWarnings,
    };
  }

  /** Book-keeping for a task that must wait: depth warning, wait timer. */
  #wait(key: K, chain: KeyChain, enqueuedAt: number): Waiter {
    const waiter = chain.push(enqueuedAt);
    if (!chain.hasWarnedDepth && chain.waiting > this.#depthWarningThreshold) {
      chain.hasWarnedDepth = true;
      this.#queueDepthWarnings += 1;
      this.#log('warn',
        { key, depth: chain.waiting, threshold: this.#depthWarningThreshold },
        `${chain.waiting} tasks are waiting on one key (threshold ${this.#depthWarningThreshold})`,
      );
    }
    this.#armWaitTimer(key, chain);
    return waiter;
  }

  /**
   * One timer per key, due when the oldest waiter reaches waitWarningMs. It is
   * not re-armed on every start: when it fires early for a waiter that has
   * since started, it re-arms for the new oldest one.
   */
  #armWaitTimer(key: K, chain: KeyChain): void {
    if (chain.hasWarnedWait || chain.timer !== undefined) return;
    const oldest = chain.oldestWaiter();
    if (oldest === undefined) return;
    const dueIn = Math.max(0, oldest.enqueuedAt + this.#waitWarningMs - now());
    chain.timer = setTimeout(() => {
      chain.timer = undefined;
      const current = chain.oldestWaiter();
      if (current === undefined) return;
      const waitedMs = now() - current.enqueuedAt;
      if (waitedMs < this.#waitWarningMs) {
        this.#armWaitTimer(key, chain);
        return;
      }
      chain.hasWarnedWait = true;
      this.#waitWarnings += 1;
      this.#log('warn',
        { key, waitedMs, depth: chain.waiting },
        `a task has waited ${Math.round(waitedMs)} ms on one key and has not started`,
      );
    }, dueIn);
    // unref: a warning timer must never keep the process alive.
    chain.timer.unref?.();
  }

  #start(key: K, chain: KeyChain, waiter: Waiter | undefined, enqueuedAt: number): void {
    if (waiter !== undefined) this.#stopWaiting(chain, waiter);
    const waitedMs = now() - enqueuedAt;
    this.#totalWaitTimeMs += waitedMs;
    if (waitedMs > this.#longestWaitMs) this.#longestWaitMs = waitedMs;
    if (waitedMs > this.#slowWaitMs) this.#log('debug', { key, waitedMs }, 'task started after a slow wait');
  }

  #stopWaiting(chain: KeyChain, waiter: Waiter): void {
    waiter.isWaiting = false;
    // The timer is only needed while someone waits.
    if (chain.oldestWaiter() === undefined) chain.clearTimer();
  }

  /** A task leaves the count: it finished, or it was aborted while waiting. */
  #leave(chain: KeyChain, waiter: Waiter | undefined): void {
    if (waiter !== undefined) this.#stopWaiting(chain, waiter);
    chain.depth -= 1;
    this.#pending -= 1;
  }

  /** Hands the key on; the last link of a chain deletes the key. */
  #pass(key: K, chain: KeyChain, turn: Promise<void>, release: () => void): void {
    release();
    // Identity check: a newer task may have become the tail meanwhile.
    if (chain.tail !== turn) return;
    chain.clearTimer();
    this.#chains.delete(key);
    if (this.#chains.size === 0 && this.#idle !== undefined) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  #log(level: 'warn' | 'debug', fields: Record<string, unknown>, message: string): void {
    try {
      this.#logger[level](fields, message);
    } catch {
      // A throwing logger must never stall a chain: the lock matters more than the line.
    }
  }

  #invoke<T>(holder: Holder, task: () => T | PromiseLike<T>): Promise<T> {
    try {
      if (this.#holders === undefined) return Promise.resolve(task());
      const held = this.#holders.getStore() ?? [];
      return Promise.resolve(this.#holders.run([...held, holder], task));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #isHeldHere(key: K): boolean {
    const held = this.#holders?.getStore();
    return held !== undefined && held.some((holder) => holder.isRunning && holder.key === key);
  }
}
