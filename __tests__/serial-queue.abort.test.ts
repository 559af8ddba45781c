import { getEventListeners } from 'node:events';
import { SerialQueue } from '../lib/index.js';
import { recordingLogger, useFakeTimersLeavingNone } from './helpers/queue-harness.js';
import { deferred, drain, track } from './helpers/common.js';

useFakeTimersLeavingNone();

describe('SerialQueue abort before the wait (FR-1.4, NFR-8)', () => {
  test('an already-aborted signal rejects at once with signal.reason, even on a busy key', async () => {
    const queue = new SerialQueue();
    const never = deferred();
    void queue.run('k', () => never.promise);
    const reason = new Error('caller gave up');
    const task = jest.fn();

    const run = queue.run('k', task, { signal: AbortSignal.abort(reason) });
    const state = track(run);
    await drain();
    expect(state.outcome).toBe('rejected');
    await expect(run).rejects.toBe(reason);
    expect(task).not.toHaveBeenCalled();
    expect(queue.depth('k')).toBe(1);
    expect(queue.metrics().pending).toBe(1);
  });

  test('an already-aborted signal on a free key leaves no chain behind', async () => {
    const queue = new SerialQueue();
    const task = jest.fn();
    const signal = AbortSignal.abort();
    await expect(queue.run('k', task, { signal })).rejects.toBe(signal.reason);
    expect(task).not.toHaveBeenCalled();
    expect(queue.size).toBe(0);
  });

  test('aborting right after run, before the previous task has even settled its microtask, stops it', async () => {
    const queue = new SerialQueue();
    const controller = new AbortController();
    const task = jest.fn();
    const holder = queue.run('k', () => 'first');
    const run = queue.run('k', task, { signal: controller.signal });
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    await expect(holder).resolves.toBe('first');
    await queue.onIdle();
    expect(task).not.toHaveBeenCalled();
    expect(queue.size).toBe(0);
  });

  test('on a free key the task starts inside run, so a later abort changes nothing and adds no listener', async () => {
    const queue = new SerialQueue();
    const controller = new AbortController();
    const task = jest.fn(() => 'ran');
    const run = queue.run('k', task, { signal: controller.signal });
    expect(task).toHaveBeenCalledTimes(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    await expect(run).resolves.toBe('ran');
    await queue.onIdle();
    expect(queue.size).toBe(0);
  });
});

describe('SerialQueue abort during the wait (FR-1.4, NFR-8)', () => {
  test('rejects with the reason while the holder still runs, and the task never runs', async () => {
    const queue = new SerialQueue();
    const holder = deferred();
    void queue.run('k', () => holder.promise);
    const controller = new AbortController();
    const task = jest.fn();
    const run = queue.run('k', task, { signal: controller.signal });
    const state = track(run);
    await drain();

    const reason = { why: 'timeout' };
    controller.abort(reason);
    await drain();
    expect(state.outcome).toBe('rejected');
    await expect(run).rejects.toBe(reason);

    holder.resolve();
    await queue.onIdle();
    expect(task).not.toHaveBeenCalled();
  });

  test('the tasks behind an aborted one run in order once the holder settles, and depth drops at once', async () => {
    const queue = new SerialQueue();
    const holder = deferred();
    const order: string[] = [];
    const runs = [
      queue.run('k', async () => {
        await holder.promise;
        order.push('holder');
      }),
    ];
    const controller = new AbortController();
    const aborted = queue.run('k', () => void order.push('aborted'), { signal: controller.signal });
    runs.push(queue.run('k', () => void order.push('after-1')));
    runs.push(queue.run('k', () => void order.push('after-2')));
    expect(queue.depth('k')).toBe(4);

    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(queue.depth('k')).toBe(3);
    expect(queue.metrics().pending).toBe(3);
    await drain();
    expect(order).toEqual([]);

    holder.resolve();
    await Promise.all(runs);
    expect(order).toEqual(['holder', 'after-1', 'after-2']);
    expect(queue.size).toBe(0);
  });

  test('aborting every waiter leaves a clean queue once the holder settles', async () => {
    const queue = new SerialQueue();
    const holder = deferred();
    void queue.run('k', () => holder.promise);
    const controller = new AbortController();
    const waiters = Array.from({ length: 5 }, () => queue.run('k', () => undefined, { signal: controller.signal }));
    controller.abort();
    const outcomes = await Promise.allSettled(waiters);
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(queue.depth('k')).toBe(1);

    holder.resolve();
    await queue.onIdle();
    expect(queue.size).toBe(0);
    expect(queue.metrics().pending).toBe(0);
  });

  test('aborting the only waiter clears its wait timer, and no wait warning ever names it', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const holder = deferred();
    void queue.run('k', () => holder.promise);
    const controller = new AbortController();
    const run = queue.run('k', () => undefined, { signal: controller.signal });
    expect(jest.getTimerCount()).toBe(1);

    controller.abort();
    await expect(run).rejects.toBe(controller.signal.reason);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(60_000);
    expect(logger.of('warn')).toEqual([]);
    holder.resolve();
    await queue.onIdle();
  });

  test('after the oldest waiter aborts, the wait warning times the next waiter from its own run call', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const holder = deferred();
    void queue.run('k', () => holder.promise);
    await drain();
    const controller = new AbortController();
    const first = queue.run('k', () => undefined, { signal: controller.signal });
    jest.advanceTimersByTime(1000);
    void queue.run('k', () => undefined);
    jest.advanceTimersByTime(500);
    controller.abort();
    await expect(first).rejects.toBe(controller.signal.reason);

    jest.advanceTimersByTime(4499); // the second waiter has waited 4999 ms
    expect(logger.of('warn')).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 5000, depth: 1 }]);
    holder.resolve();
    await queue.onIdle();
  });
});

describe('SerialQueue abort after the task started (FR-1.2, NFR-8)', () => {
  test('changes nothing: the task runs on, its outcome stands and the key stays locked until it settles', async () => {
    const queue = new SerialQueue();
    const controller = new AbortController();
    const gate = deferred<string>();
    const run = queue.run('k', () => gate.promise, { signal: controller.signal });
    const state = track(run);
    await drain();
    const next = jest.fn(() => 'next');
    const nextRun = queue.run('k', next);

    controller.abort(new Error('too late'));
    await drain();
    expect(state.isSettled).toBe(false);
    expect(next).not.toHaveBeenCalled();
    expect(queue.depth('k')).toBe(2);

    gate.resolve('done');
    await expect(run).resolves.toBe('done');
    await expect(nextRun).resolves.toBe('next');
  });

  test('the abort listener is removed once the task starts, so a long-lived signal does not collect listeners', async () => {
    const queue = new SerialQueue();
    const controller = new AbortController();
    const gate = deferred();
    void queue.run('k', () => gate.promise, { signal: controller.signal });
    const waiting = queue.run('k', () => undefined, { signal: controller.signal });
    const alsoWaiting = queue.run('k', () => undefined, { signal: controller.signal });
    // The first task started inside run(); the two waiters share one listener.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);

    await drain();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    gate.resolve();
    await waiting;
    // One waiter still listens through the shared listener.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await alsoWaiting;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await waiting;
    for (let i = 0; i < 50; i += 1) await queue.run('k', () => i, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('SerialQueue runs with a signal that is never aborted (FR-1.2, NFR-8, NFR-3)', () => {
  test('a waiting run with a live signal runs its task and resolves with its value, and leaves no listener', async () => {
    const queue = new SerialQueue();
    const holder = deferred();
    void queue.run('k', () => holder.promise);
    const controller = new AbortController();
    const run = queue.run('k', () => ({ answer: 42 }), { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    holder.resolve();
    await expect(run).resolves.toEqual({ answer: 42 });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('a waiting run with a live signal passes its task rejection through', async () => {
    const queue = new SerialQueue();
    const holder = deferred();
    void queue.run('k', () => holder.promise);
    const failure = new Error('task failed');
    const run = queue.run('k', () => Promise.reject(failure), { signal: new AbortController().signal });
    holder.resolve();
    await expect(run).rejects.toBe(failure);
  });

  test('after an abort the signal keeps no listener of the queue', async () => {
    const queue = new SerialQueue();
    const holder = deferred();
    void queue.run('k', () => holder.promise);
    const controller = new AbortController();
    const run = queue.run('k', () => undefined, { signal: controller.signal });
    controller.abort();
    await expect(run).rejects.toBe(controller.signal.reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    holder.resolve();
    await queue.onIdle();
  });
});
