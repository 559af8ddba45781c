/**
 * Outsider review of issue 12: signals aborted at the awkward points of the
 * one waiting path (inside the observer's debug line for the run now
 * starting, in the hand-off window after a head settles, inside the head's
 * synchronous part), with exact counters afterwards. FR-1.1, FR-1.3.
 */
import { SerialQueue } from '../lib/index.js';
import { deferred, drain } from './helpers/common.js';

describe('review of issue 12: aborts at every point (FR-1.1)', () => {
  test('FR-1.1: a signal aborted inside the slow-wait debug line of its own starting run changes nothing: the task runs', async () => {
    const controller = new AbortController();
    const queue = new SerialQueue({ slowWaitMs: 0, waitWarningMs: Infinity, logger: { warn: () => undefined, debug: () => controller.abort('late') } });
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    await drain();
    const run = queue.run('k', () => 'ran', { signal: controller.signal });
    const after = queue.run('k', () => 'after');
    // slowWaitMs 0 with real time: the wait is measured > 0 only if the clock moved; make sure it does.
    const until = performance.now() + 2;
    while (performance.now() < until);
    gate.resolve();
    expect(await run).toBe('ran');
    expect(controller.signal.aborted).toBe(true);
    expect(await after).toBe('after');
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });

  test('FR-1.1: a shared signal aborted in the hand-off window (head settled, next not started) drops every waiter on it and hands the key to the next run', async () => {
    const queue = new SerialQueue();
    const controller = new AbortController();
    const gate = deferred();
    const head = queue.run('k', () => gate.promise);
    const order: unknown[] = [];
    const waiters = [1, 2, 3].map((i) => queue.run('k', () => void order.push(i), { signal: controller.signal }).catch((error: unknown) => error));
    const last = queue.run('k', () => void order.push('last'));
    let seen: number[] = [];
    const resumed = head.then(() => {
      controller.abort('gone');
      seen = [queue.depth('k'), queue.size, queue.metrics().pending];
    });
    gate.resolve();
    await resumed;
    expect(await Promise.all(waiters)).toEqual(['gone', 'gone', 'gone']);
    await last;
    expect(seen).toEqual([1, 1, 1]);
    expect(order).toEqual(['last']);
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });

  test('FR-1.1: a waiter made and aborted inside the head\'s synchronous part never runs; the one made after it runs after the head', async () => {
    const queue = new SerialQueue();
    const controller = new AbortController();
    const order: string[] = [];
    let inner: Promise<unknown> | undefined;
    let next: Promise<unknown> | undefined;
    let depthInside = -1;
    const head = queue.run('k', () => {
      inner = queue.run('k', () => void order.push('inner'), { signal: controller.signal }).catch((error: unknown) => error);
      next = queue.run('k', () => void order.push('next'));
      controller.abort('gone');
      depthInside = queue.depth('k');
      order.push('head');
    });
    await head;
    expect(await inner).toBe('gone');
    await next;
    expect([depthInside, ...order]).toEqual([2, 'head', 'next']);
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });
});
