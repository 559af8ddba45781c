/**
 * Abort, as a layer beside the queue core: a run given a signal may leave
 * its place while it waits; once its task has started, the signal changes
 * nothing. Internal to SerialQueue.
 */
import type { AbortFanout } from './abort-fanout.js';
import type { TailQueue } from './tail-queue.js';

/**
 * Runs `task` on `key` through `core`, rejecting with `signal.reason` if the
 * signal aborts while the run still waits. The abort listener (shared per
 * signal through `fanout`) is added only if the run has to wait, and removed
 * when its task starts or it leaves.
 */
export function runAbortable<K, T>(
  core: TailQueue<K, unknown>,
  fanout: AbortFanout,
  key: K,
  task: () => T | PromiseLike<T>,
  signal: AbortSignal,
): Promise<T> {
  let onAbort: (() => void) | undefined;
  const start = (): T | PromiseLike<T> => {
    if (onAbort !== undefined) fanout.remove(signal, onAbort);
    return task();
  };
  return core.run(key, start, <R>(outcome: Promise<R | undefined>, leave: () => boolean) => {
    return new Promise<R>((resolve, reject) => {
      onAbort = (): void => {
        if (leave()) reject(signal.reason);
      };
      fanout.add(signal, onAbort);
      // After a leave the caller has its rejection; the outcome's later `undefined` is ignored.
      outcome.then(resolve as (value: R | undefined) => void, reject);
    });
  });
}
