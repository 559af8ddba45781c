/**
 * Defects the adversarial review of the queue core found (all older than the
 * core rework), each pinned by the test that failed before its fix.
 */
import { SerialQueue } from '../lib/index.js';
import { deferred, drain, useFakeTimersLeavingNone } from './helpers/queue-harness.js';

useFakeTimersLeavingNone();

describe('SerialQueue: defects found by review, fixed', () => {
  // Was a defect (reentry-guard.ts `holding`): when the task throws synchronously,
  // `holders.run` throws before `release` is attached, so the holder stays
  // `isRunning: true` for ever. Any continuation the task scheduled before
  // throwing is then refused with ERR_LOCK_REENTRY after the task has ended;
  // the same task failing by a rejected promise releases its hold (control test below).
  test('FR-2 detectReentry: a task that throws synchronously releases its hold once it has ended', async () => {
    const queue = new SerialQueue({ detectReentry: true });
    const gate = deferred();
    let later: Promise<unknown> | undefined;
    const first = queue.run('k', () => {
      later = gate.promise.then(() => queue.run('k', () => 'ok'));
      throw new Error('sync failure');
    });
    await expect(first).rejects.toThrow('sync failure');
    await drain();
    gate.resolve();
    await expect(later).resolves.toBe('ok');
  });

  test('control, holds today: a task that rejects asynchronously releases its hold once it has ended', async () => {
    const queue = new SerialQueue({ detectReentry: true });
    const gate = deferred();
    let later: Promise<unknown> | undefined;
    const first = queue.run('k', () => {
      later = gate.promise.then(() => queue.run('k', () => 'ok'));
      return Promise.reject(new Error('async failure'));
    });
    await expect(first).rejects.toThrow('async failure');
    await drain();
    gate.resolve();
    await expect(later).resolves.toBe('ok');
  });

  // Was a defect (tail-queue.ts #wait): when the last counted task settles and only
  // runs that left (aborted) are behind it, the key stays live until the left
  // runs' tails settle, two microtasks later: depth 0 and pending 0 but size
  // (metrics().activeKeys) 1, onIdle still pending, and a run made in that
  // window waits (and is measured as a wait) instead of starting inside run().
  test('FR-1/FR-4.1 metrics: with only aborted runs behind it, the settled key is inactive at once: size 0 whenever pending is 0', async () => {
    const queue = new SerialQueue();
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    const controller = new AbortController();
    const left = queue.run('k', () => 'never', { signal: controller.signal });
    left.catch(() => undefined);
    controller.abort();
    await drain();
    gate.resolve();
    const seen: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      await Promise.resolve();
      const { pending, activeKeys } = queue.metrics();
      seen.push(`pending=${pending} activeKeys=${activeKeys} size=${queue.size}`);
    }
    // Every observed point must agree: no key is active without a task running or waiting.
    expect(seen.filter((line) => line.startsWith('pending=0') && !line.endsWith('activeKeys=0 size=0'))).toEqual([]);
  });

  test('FR-1 a run made when the only task left on a key has just settled starts inside run()', async () => {
    const queue = new SerialQueue();
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    const controller = new AbortController();
    void queue.run('k', () => 'never', { signal: controller.signal }).catch(() => undefined);
    controller.abort();
    await drain();
    gate.resolve();
    // Step microtasks until the holder's settle has been counted.
    while (queue.metrics().pending > 0) await Promise.resolve();
    expect(queue.depth('k')).toBe(0);
    let started = false;
    void queue.run('k', () => {
      started = true;
    });
    expect(started).toBe(true);
    await drain();
  });

  // Was a defect (tail-queue.ts #wait): the observer (and so the logger) is called
  // before the run has taken its place as the tail. A logger that itself runs
  // on the same key (an audit log queued on the file's key, say) is called
  // from inside run(B) and gets ahead of B: B's task starts after it.
  test('FR-1.1 FIFO: a run made by the logger during run(B) on the same key starts after B', async () => {
    const order: string[] = [];
    const box: { queue?: SerialQueue } = {};
    const logger = {
      warn: (): void => void box.queue?.run('k', () => void order.push('logger')),
      debug: (): void => undefined,
    };
    const queue = new SerialQueue({ logger, depthWarningThreshold: 1 });
    box.queue = queue;
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    void queue.run('k', () => void order.push('w1'));
    void queue.run('k', () => void order.push('w2')); // 2 waiting > 1: the logger is called here
    gate.resolve();
    await drain();
    expect(order).toEqual(['w1', 'w2', 'logger']);
  });

  // Was a defect (abort-exit.ts with tail-queue.ts #wait): the observer runs (and
  // calls the logger) before the abort listener is added. A signal aborted
  // in that window (by a logger that cancels on overload, say) is never
  // heard: the run stays in line and its task runs, though its signal was
  // aborted while it waited (README: "aborting while the task waits rejects").
  test('FR-1 abort: a signal aborted during run() while the run must wait rejects it and its task never runs', async () => {
    const controller = new AbortController();
    const reason = new Error('overloaded');
    const logger = { warn: (): void => controller.abort(reason), debug: (): void => undefined };
    const queue = new SerialQueue({ logger, depthWarningThreshold: 0 });
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    const task = jest.fn(() => 'ran');
    const run = queue.run('k', task, { signal: controller.signal });
    run.catch(() => undefined);
    expect(controller.signal.aborted).toBe(true);
    gate.resolve();
    await drain();
    expect(task).not.toHaveBeenCalled();
    await expect(run).rejects.toBe(reason);
  });

  test('NFR-2 a run that left while the observer was told of it is not measured as a wait that ended in a start', async () => {
    const controller = new AbortController();
    const debug = jest.fn();
    // The logger lets 500 ms pass, then aborts the run it is warning about.
    const logger = {
      warn: (): void => {
        jest.advanceTimersByTime(500);
        controller.abort(new Error('overloaded'));
      },
      debug,
    };
    const queue = new SerialQueue({ logger, depthWarningThreshold: 0 });
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    queue.run('k', () => 'ran', { signal: controller.signal }).catch(() => undefined);
    gate.resolve();
    await drain();
    expect(queue.metrics()).toMatchObject({ longestWaitMs: 0, totalWaitTimeMs: 0, pending: 0 });
    expect(debug).not.toHaveBeenCalled();
  });
});
