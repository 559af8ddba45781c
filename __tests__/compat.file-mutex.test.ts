/**
 * FR-3.1 drop-in: FileMutex with the original's public API (withLock,
 * getMetrics, hasPendingOperations, waitForPending, resetMetrics), as the
 * original server exported and tested it. Fake timers; no real sleeps.
 */
import path from 'node:path';
import { FileMutex } from '../lib/index.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

afterEach(() => jest.useRealTimers());

test('FR-1 withLock runs operations on one file one at a time, in call order, and returns each result', async () => {
  const mutex = new FileMutex();
  const order: string[] = [];
  let inside = false;
  const operation = (name: string, gate?: Promise<void>) => async () => {
    expect(inside).toBe(false);
    inside = true;
    order.push(`start ${name}`);
    await gate;
    order.push(`end ${name}`);
    inside = false;
    return name;
  };
  const gate = deferred();
  const results = Promise.all([mutex.withLock('a.enc', operation('1', gate.promise)), mutex.withLock('./a.enc', operation('2')), mutex.withLock(path.resolve('a.enc'), operation('3'))]);
  await Promise.resolve();
  expect(order).toEqual(['start 1']);
  gate.resolve();
  expect(await results).toEqual(['1', '2', '3']);
  expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
});

test('FR-2 different files do not wait for each other, and a rejection reaches only its caller', async () => {
  const mutex = new FileMutex();
  const gate = deferred();
  const held = mutex.withLock('a.enc', () => gate.promise);
  expect(await mutex.withLock('b.enc', async () => 'b')).toBe('b');
  const failing = mutex.withLock('a.enc', async () => Promise.reject(new Error('boom')));
  const after = mutex.withLock('a.enc', async () => 'after');
  gate.resolve();
  await held;
  await expect(failing).rejects.toThrow('boom');
  expect(await after).toBe('after');
});

test('FR-1.4 metrics: activeFiles, wait times, hasPendingOperations, waitForPending and resetMetrics', async () => {
  jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  const mutex = new FileMutex();
  expect(mutex.getMetrics()).toEqual({ activeFiles: 0, totalWaitTimeMs: 0, longestWaitMs: 0, queueDepthWarnings: 0 });
  expect(mutex.hasPendingOperations()).toBe(false);
  const gate = deferred();
  const first = mutex.withLock('a.enc', () => gate.promise);
  const second = mutex.withLock('a.enc', async () => 'second');
  expect(mutex.hasPendingOperations()).toBe(true);
  expect(mutex.getMetrics().activeFiles).toBe(1);
  let idle = false;
  const pending = mutex.waitForPending().then(() => (idle = true));
  jest.advanceTimersByTime(250);
  gate.resolve();
  await Promise.all([first, second, pending]);
  expect(idle).toBe(true);
  expect(mutex.hasPendingOperations()).toBe(false);
  expect(mutex.getMetrics()).toEqual({ activeFiles: 0, totalWaitTimeMs: 250, longestWaitMs: 250, queueDepthWarnings: 0 });
  mutex.resetMetrics();
  expect(mutex.getMetrics()).toEqual({ activeFiles: 0, totalWaitTimeMs: 0, longestWaitMs: 0, queueDepthWarnings: 0 });
  expect(jest.getTimerCount()).toBe(0);
});

test('FR-1.4 a queue of 10 waiting on one file counts a depth warning, which resetMetrics clears', async () => {
  const warnings: string[] = [];
  const mutex = new FileMutex({ logger: { warn: (_, message) => void warnings.push(message), debug: () => undefined } });
  const gate = deferred();
  const all = [mutex.withLock('a.enc', () => gate.promise), ...Array.from({ length: 11 }, () => mutex.withLock('a.enc', async () => undefined))];
  expect(mutex.getMetrics().queueDepthWarnings).toBe(1);
  expect(warnings).toHaveLength(1);
  gate.resolve();
  await Promise.all(all);
  mutex.resetMetrics();
  expect(mutex.getMetrics().queueDepthWarnings).toBe(0);
});
