/**
 * The cross-process lock's parts on their own (issue 16: what the lock's
 * suites leave unpinned): the poll delays, the abortable sleep, the
 * staleness watch. Fake timers and a fixed Math.random; no files.
 */
import { getEventListeners } from 'node:events';
import { StaleWatch } from '../lib/files/lock-staleness.js';
import { pollDelay, sleep } from '../lib/files/lock-wait.js';

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => {
  const timersLeft = jest.getTimerCount();
  jest.useRealTimers();
  jest.restoreAllMocks();
  expect(timersLeft).toBe(0);
});

/** Makes Math.random answer `value` from now on. */
const randomIs = (value: number): void => {
  jest.spyOn(Math, 'random').mockReturnValue(value);
};

describe('NFR-7: poll delays grow, are jittered, and wake near the moment the entry turns stale', () => {
  test('the base delay is retryMs times a factor in [0.5, 1.5)', () => {
    randomIs(0);
    expect(pollDelay(0, 100, Number.POSITIVE_INFINITY)).toBe(50);
    randomIs(0.5);
    expect(pollDelay(0, 100, Number.POSITIVE_INFINITY)).toBe(100);
    randomIs(0.99);
    expect(pollDelay(0, 100, Number.POSITIVE_INFINITY)).toBeCloseTo(149, 9);
  });

  test('it grows by half per attempt and stops at 8 × retryMs', () => {
    randomIs(0.5);
    expect([1, 2, 5, 6, 30].map((attempt) => pollDelay(attempt, 100, Number.POSITIVE_INFINITY))).toEqual([150, 225, 100 * 1.5 ** 5, 800, 800]);
  });

  test('it never sleeps much past the moment the entry would turn stale: untilStale + 1 + [0, retryMs)', () => {
    randomIs(0.5);
    expect(pollDelay(6, 100, 30)).toBe(30 + 1 + 50);
    randomIs(0);
    expect(pollDelay(6, 100, 30)).toBe(31);
    expect(pollDelay(0, 100, 0)).toBe(1);
  });

  test('it is at least 1 ms, however small retryMs is', () => {
    randomIs(0);
    expect(pollDelay(0, 1, Number.POSITIVE_INFINITY)).toBe(1);
  });
});

describe('NFR-8: the abortable sleep', () => {
  test('resolves after ms and leaves no listener on the signal', async () => {
    const controller = new AbortController();
    let isDone = false;
    const sleeping = sleep(100, '/x.lock', controller.signal).then(() => (isDone = true));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(99);
    expect(isDone).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(isDone).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('an abort while sleeping rejects ERR_LOCK_ABORTED at once, naming the lock, with the reason as cause, and clears the timer', async () => {
    const controller = new AbortController();
    const sleeping = sleep(10_000, '/x.lock', controller.signal);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(sleeping).rejects.toMatchObject({ name: 'ProcessLockError', code: 'ERR_LOCK_ABORTED', lockPath: '/x.lock', cause: reason, message: 'gave up waiting for the lock "/x.lock": aborted' });
    expect(jest.getTimerCount()).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('an already aborted signal rejects without arming a timer; no signal just sleeps', async () => {
    await expect(sleep(10, '/x.lock', AbortSignal.abort())).rejects.toMatchObject({ code: 'ERR_LOCK_ABORTED' });
    expect(jest.getTimerCount()).toBe(0);
    const plain = sleep(10, '/x.lock', undefined);
    await jest.advanceTimersByTimeAsync(10);
    await expect(plain).resolves.toBeUndefined();
  });
});

describe('FR-2 (issue 9): staleness by wall age or by an unchanged pair on the monotonic clock', () => {
  const STALE_MS = 10_000;

  test('by wall age: staleMs minus the age of the mtime', () => {
    const watch = new StaleWatch(STALE_MS);
    expect(watch.untilStale({ content: 'a', mtimeMs: Date.now() - 3000 })).toBe(7000);
    jest.advanceTimersByTime(1000);
    expect(watch.untilStale({ content: 'a', mtimeMs: Date.now() - 4000 - 1000 })).toBe(5000);
  });

  test('an mtime in the future: stale once the same pair is seen unchanged for staleMs', () => {
    const watch = new StaleWatch(STALE_MS);
    const seen = { content: 'a', mtimeMs: Date.now() + 3_600_000 };
    expect(watch.untilStale(seen)).toBe(STALE_MS);
    jest.advanceTimersByTime(4000);
    expect(watch.untilStale(seen)).toBe(6000);
    jest.advanceTimersByTime(6000);
    expect(watch.untilStale(seen)).toBe(0);
  });

  test('a changed record or a changed mtime restarts the unchanged count', () => {
    const watch = new StaleWatch(STALE_MS, false);
    const future = Date.now() + 3_600_000;
    watch.untilStale({ content: 'a', mtimeMs: future });
    jest.advanceTimersByTime(4000);
    expect(watch.untilStale({ content: 'b', mtimeMs: future })).toBe(STALE_MS);
    jest.advanceTimersByTime(4000);
    expect(watch.untilStale({ content: 'b', mtimeMs: future + 1 })).toBe(STALE_MS);
    jest.advanceTimersByTime(4000);
    expect(watch.untilStale({ content: 'b', mtimeMs: future + 1 })).toBe(6000);
  });

  test('a watch that does not trust the wall clock ignores the mtime’s age', () => {
    const watch = new StaleWatch(STALE_MS, false);
    expect(watch.untilStale({ content: 'a', mtimeMs: 0 })).toBe(STALE_MS);
  });

  test('isSame is true only for the very pair last seen', () => {
    const watch = new StaleWatch(STALE_MS);
    watch.untilStale({ content: 'a', mtimeMs: 5 });
    expect(watch.isSame({ content: 'a', mtimeMs: 5 })).toBe(true);
    expect(watch.isSame({ content: 'b', mtimeMs: 5 })).toBe(false);
    expect(watch.isSame({ content: 'a', mtimeMs: 6 })).toBe(false);
  });
});
