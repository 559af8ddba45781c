/**
 * The public queue: options, defaults and the layers around the core.
 * Read top-down: tail-queue.ts (the core: one tail per key) with tail-chain.ts
 * (a key's line), tail-index.ts (its keys) and task-promise.ts (calling a task,
 * following its promise), wait-hooks.ts (the core's two
 * hooks), wait-monitor.ts (warnings and wait metrics, the core's observer),
 * abort-exit.ts with abort-fanout.ts (leaving a wait), reentry-guard.ts
 * (detectReentry).
 */
import { AbortFanout } from './abort-fanout.js';
import { runAbortable } from './abort-exit.js';
import { LockReentryError } from './queue-errors.js';
import { ReentryGuard } from './reentry-guard.js';
import { TailQueue } from './tail-queue.js';
import { createDefaultLogger, type QueueLogger } from '../support/logger.js';
import { InvalidArgumentError } from '../support/invalid-argument.js';
import { COUNT, DURATION_MS, numberOption } from '../support/options.js';
import { WaitMonitor, type WaitList } from './wait-monitor.js';

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

/**
 * A per-key serial queue: tasks on one key run one at a time in call order;
 * tasks on different keys never wait for each other. Zero dependencies: one
 * tail promise per key; once nothing runs or waits on a key it is released,
 * and its chain kept idle for its next run (at most 1,024 idle keys kept).
 */
export class SerialQueue<K = string> {
  readonly #core: TailQueue<K, WaitList>;
  readonly #monitor: WaitMonitor<K>;
  readonly #reentry: ReentryGuard | undefined;
  readonly #aborts = new AbortFanout();

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
    this.#core = new TailQueue<K, WaitList>(this.#monitor);
    // Only an opted-in queue touches AsyncLocalStorage: its first run() switches on
    // promise hooks for the whole process (see detectReentry).
    this.#reentry = options.detectReentry === true ? new ReentryGuard() : undefined;
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
   *
   * A `task` that is not a function, or a `signal` that is not an AbortSignal,
   * rejects with InvalidArgumentError (`ERR_INVALID_ARGUMENT`) and nothing runs.
   */
  run<T>(key: K, task: () => T | PromiseLike<T>, options?: RunOptions): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      signal = checkedSignal(task, options);
      if (signal?.aborted === true) return Promise.reject(signal.reason);
    } catch (error) {
      return Promise.reject(error);
    }
    let job = task;
    if (this.#reentry !== undefined) {
      if (this.#reentry.isHeld(this, key)) return Promise.reject(new LockReentryError(key));
      job = this.#reentry.holding(this, key, task);
    }
    return signal === undefined ? this.#core.run(key, job) : runAbortable(this.#core, this.#aborts, key, job, signal);
  }

  /** Tasks running plus waiting on `key`; 0 for an idle key. */
  depth(key: K): number {
    return this.#core.depth(key);
  }

  /** Keys with a live chain. Returns to 0 when everything has settled (NFR-3). */
  get size(): number {
    return this.#core.size;
  }

  /**
   * Resolves once no task runs or waits on any key, counting tasks added meanwhile; its callers
   * resume after the last task's caller has. A task added once the queue went idle (even by that
   * caller, as it resumes) is not waited for: call `onIdle()` again.
   */
  onIdle(): Promise<void> {
    return this.#core.onIdle();
  }

  /** A snapshot of the counters; wait times run from `run` to task start. */
  metrics(): SerialQueueMetrics {
    const monitor = this.#monitor;
    return {
      activeKeys: this.#core.size,
      pending: this.#core.pending,
      totalWaitTimeMs: monitor.totalWaitTimeMs,
      longestWaitMs: monitor.longestWaitMs,
      queueDepthWarnings: monitor.queueDepthWarnings,
      waitWarnings: monitor.waitWarnings,
    };
  }
}

/**
 * The run's signal, once `task` and it are checked: before the run takes a place in line, so that a
 * refused run never runs later. Throws what `run` rejects with (InvalidArgumentError, or what a
 * getter of `options` threw): `run` never throws.
 */
function checkedSignal(task: unknown, options: RunOptions | undefined): AbortSignal | undefined {
  if (typeof task !== 'function') throw new InvalidArgumentError('task', 'a function', task);
  const signal = options?.signal;
  if (signal !== undefined && !isAbortSignal(signal)) throw new InvalidArgumentError('options.signal', 'an AbortSignal', signal);
  return signal;
}

/** An AbortSignal by its shape, so a signal from another realm or a polyfill is one too. */
function isAbortSignal(value: unknown): value is AbortSignal {
  const signal = value as Partial<AbortSignal>;
  try {
    return typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function' && typeof signal.removeEventListener === 'function';
    // Stryker disable next-line BlockStatement: equivalent, an empty catch returns undefined, as falsy as false.
  } catch {
    // null, or a getter that throws (AbortSignal.prototype's own, on an object that is not a signal).
    return false;
  }
}
