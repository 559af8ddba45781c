/**
 * Re-entry detection, as a layer around the queue core: it records which
 * keys the current async context holds, so a run on a key from inside a task
 * that holds it can be rejected instead of deadlocking. Internal to
 * SerialQueue, used only with `detectReentry: true`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { then } from './task-promise.js';

/** One running task, as seen by re-entry detection. */
interface Holder {
  readonly queue: object;
  readonly key: unknown;
  isRunning: boolean;
}

/**
 * The one store, kept on the global object under a registered symbol, so that
 * every copy of this module in the process shares it: the ESM and CommonJS
 * builds loaded side by side, or a test runner's fresh module registry per
 * test file (jest running in one process made a store per file, and with
 * four of them a later file's million promises outgrew an 8 GB heap).
 */
const HOLDERS = Symbol.for('session-store-mutex.reentry-holders');
const processWide = globalThis as { [HOLDERS]?: AsyncLocalStorage<readonly Holder[]> };

/** Which keys the calling async context holds, across every detecting queue. */
export class ReentryGuard {
  /**
   * One store behind every detecting queue, created by the first of them.
   * Node 20 keeps each AsyncLocalStorage registered for the life of the
   * process, and its hook touches every new promise once per instance: a
   * store per queue made 300 detecting queues turn every later promise into
   * a 300-property object (a jest worker ran out of memory on bare promises).
   */
  readonly #holders = (processWide[HOLDERS] ??= new AsyncLocalStorage<readonly Holder[]>());

  /** Whether the calling context runs inside a task of `queue` that holds `key`. */
  isHeld(queue: object, key: unknown): boolean {
    const held = this.#holders.getStore();
    // SameValueZero, as the queue compares keys: NaN matches NaN.
    return (
      held !== undefined &&
      held.some((holder) => holder.queue === queue && holder.isRunning && (holder.key === key || (holder.key !== holder.key && key !== key)))
    );
  }

  /** Wraps `task` so that, while it runs, its context holds `key` of `queue`. */
  holding<T>(queue: object, key: unknown, task: () => T | PromiseLike<T>): () => Promise<T> {
    return () => {
      const holder: Holder = { queue, key, isRunning: true };
      // Stryker disable next-line ArrayDeclaration: equivalent, a string in the list never matches a holder's queue.
      const outer = this.#holders.getStore() ?? [];
      let result: Promise<T>;
      try {
        result = Promise.resolve(this.#holders.run([...outer, holder], task));
      } catch (error) {
        // A task that throws synchronously has ended too: work it scheduled must not find the key held.
        holder.isRunning = false;
        throw error;
      }
      const release = (): void => {
        holder.isRunning = false;
      };
      // The built-in then: the task's promise may carry a `then` of its own (see task-promise.ts).
      then(result, release, release);
      return result;
    };
  }
}
