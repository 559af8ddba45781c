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
  // Replaced by the real listener only if the run has to wait; the fanout never holds this one.
  let onAbort: () => void = neverSubscribed;
  const start = (): T | PromiseLike<T> => {
    fanout.remove(signal, onAbort);
    return task();
  };
  return core.run(key, start, <R>(outcome: Promise<R | undefined>, leave: () => boolean) => {
    let settle!: Settle<R>;
    const caller = new Promise<R>((resolve, reject) => (settle = { resolve, reject }));
    const holder = forward(outcome, settle);
    const leaveWith = (reason: unknown): void => {
      if (!leave()) return;
      // leave() is true once, and only here is the holder dropped: it is still there.
      holder.settle!.reject(reason);
      holder.settle = undefined;
    };
    onAbort = () => leaveWith(signal.reason);
    return {
      caller,
      // Once the run holds its place: the signal's own code may run, and may make runs on this key.
      placed: () => {
        try {
          // Aborted since run() was called (by the observer's logger, say): there is no event to wait for.
          if (signal.aborted) onAbort();
          else fanout.add(signal, onAbort);
        } catch (error) {
          // A signal that cannot be listened to: the run leaves, so a caller told "failed" never has its task run.
          leaveWith(error);
        }
      },
    };
  });
}

interface Settle<R> {
  resolve(value: R): void;
  reject(reason: unknown): void;
}

/**
 * Settles the caller with the outcome, until `settle` is dropped. Behind a task that hangs the
 * outcome stays pending; once the run has left, its reactions then keep only this holder, not the
 * caller's promise, the signal or its reason (NFR-3). Module-level, so they close over nothing else.
 */
function forward<R>(outcome: Promise<R | undefined>, settle: Settle<R>): { settle: Settle<R> | undefined } {
  const holder: { settle: Settle<R> | undefined } = { settle };
  outcome.then(
    // A run that left resolves its outcome with undefined (the holder is gone by then); it never rejects.
    (value) => holder.settle?.resolve(value as R),
    (error: unknown) => holder.settle!.reject(error),
  );
  return holder;
}

/** The listener of a run that never had to wait: removing it from the fanout removes nothing. */
function neverSubscribed(): void {}
