/**
 * A released key keeps its chain, idle, and its next run revives it. Nothing of the old episode
 * (wait-warning timer, once-per-episode flags, waiters, depth) may leak into
 * the revived one, whether it is revived at once, from inside a task's
 * synchronous start, or after the reclaiming pass has dropped it.
 */
import { SerialQueue } from '../lib/index.js';
import { RECLAIM_AFTER } from '../lib/queue/tail-index.js';
import { deferred, drain, hold, recordingLogger, useFakeTimersLeavingNone } from './helpers/queue-harness.js';

useFakeTimersLeavingNone();

/** Releases RECLAIM_AFTER fresh keys, so a reclaiming pass has run. */
async function churn(queue: SerialQueue<unknown>, prefix: string): Promise<void> {
  for (let i = 0; i < RECLAIM_AFTER; i += 1) void queue.run(`${prefix}${i}`, () => undefined);
  await drain();
}

describe('episodes around the revival of an idle chain (FR-1.4, NFR-2)', () => {
  test('an old episode\'s unfired wait timer does not fire into the revived chain: the new waiter is timed from its own start', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    let gate = await hold(queue);
    void queue.run('k', () => undefined); // waits from 0 ms: a timer due at 5000 ms
    jest.advanceTimersByTime(3000);
    gate.resolve();
    await queue.onIdle();
    expect(queue.size).toBe(0);

    gate = await hold(queue); // revives the chain at 3000 ms
    void queue.run('k', () => undefined); // waits from 3000 ms
    jest.advanceTimersByTime(4999); // 7999 ms: past the old due time, 4999 ms of the new wait
    expect(logger.of('warn')).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 5000, depth: 1 }]);
    gate.resolve();
    await queue.onIdle();
    expect(queue.metrics()).toMatchObject({ waitWarnings: 1, longestWaitMs: 5000, totalWaitTimeMs: 8000, activeKeys: 0, pending: 0 });
  });

  test('after both warnings in one episode, a revived chain warns for depth and wait again, once each', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, depthWarningThreshold: 2, waitWarningMs: 1000 });
    for (let episode = 1; episode <= 3; episode += 1) {
      const gate = await hold(queue);
      for (let i = 0; i < 6; i += 1) void queue.run('k', () => undefined);
      jest.advanceTimersByTime(5000);
      gate.resolve();
      await queue.onIdle();
      expect(queue.metrics()).toMatchObject({ queueDepthWarnings: episode, waitWarnings: episode, activeKeys: 0, pending: 0 });
      expect(queue.depth('k')).toBe(0);
    }
    expect(logger.of('warn').map((entry) => entry.fields.depth)).toEqual([3, 6, 3, 6, 3, 6]);
  });

  test('a key dropped by the reclaiming pass and run again starts a fresh episode too', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue<unknown>({ logger, depthWarningThreshold: 1, waitWarningMs: 1000 });
    let gate = await hold(queue as SerialQueue);
    void queue.run('k', () => undefined);
    void queue.run('k', () => undefined);
    jest.advanceTimersByTime(1000);
    gate.resolve();
    await queue.onIdle();
    await churn(queue, 'churn-');
    gate = await hold(queue as SerialQueue);
    void queue.run('k', () => undefined);
    void queue.run('k', () => undefined);
    jest.advanceTimersByTime(1000);
    gate.resolve();
    await queue.onIdle();
    expect(queue.metrics()).toMatchObject({ queueDepthWarnings: 2, waitWarnings: 2, activeKeys: 0, pending: 0 });
  });

  test('a run from inside the revived chain\'s synchronous start waits for it, counts in depth and warns in the new episode', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, depthWarningThreshold: 0 });
    for (let episode = 1; episode <= 2; episode += 1) {
      const order: string[] = [];
      const gate = deferred();
      let inner: Promise<unknown> | undefined;
      let depthInside = -1;
      const outer = queue.run('k', () => {
        inner = queue.run('k', () => order.push('inner'));
        depthInside = queue.depth('k');
        order.push('outer');
        return gate.promise;
      });
      expect(depthInside).toBe(2);
      expect(queue.metrics()).toMatchObject({ pending: 2, activeKeys: 1, queueDepthWarnings: episode });
      await drain();
      expect(order).toEqual(['outer']);
      gate.resolve();
      await Promise.all([outer, inner]);
      await drain();
      expect(order).toEqual(['outer', 'inner']);
      expect(queue.metrics()).toMatchObject({ pending: 0, activeKeys: 0 });
    }
  });

  test('a wait that ended by abort leaves no timer and no flag: the next waiter in the same episode is timed from its own start', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs: 5000 });
    const gate = await hold(queue);
    const controller = new AbortController();
    const left = queue.run('k', () => undefined, { signal: controller.signal });
    jest.advanceTimersByTime(4000);
    controller.abort(new Error('gone'));
    await expect(left).rejects.toThrow('gone');
    expect(jest.getTimerCount()).toBe(0);
    void queue.run('k', () => undefined); // waits from 4000 ms
    jest.advanceTimersByTime(4999);
    expect(logger.of('warn')).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 5000, depth: 1 }]);
    gate.resolve();
    await queue.onIdle();
    expect(queue.metrics()).toMatchObject({ waitWarnings: 1, totalWaitTimeMs: 5000, longestWaitMs: 5000 });
  });

  test('object keys, NaN and -0 revive their own chains: the episode of one never shows in another', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue<unknown>({ logger, depthWarningThreshold: 1 });
    const object = {};
    for (const key of [object, Number.NaN, -0, 0, '__proto__']) {
      const gate = deferred();
      void queue.run(key, () => gate.promise);
      void queue.run(key, () => undefined);
      void queue.run(key, () => undefined);
      gate.resolve();
      await queue.onIdle();
    }
    // -0 and 0 are one key, but their two episodes are separate: five warnings.
    expect(logger.of('warn').map((entry) => entry.fields.key)).toEqual([object, Number.NaN, -0, 0, '__proto__']);
    expect(queue.metrics()).toMatchObject({ queueDepthWarnings: 5, activeKeys: 0, pending: 0 });
  });
});
