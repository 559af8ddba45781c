/**
 * The cross-process lock's parts on their own (issue 16: what the lock's
 * suites leave unpinned): the poll delays, the abortable sleep, the
 * staleness watch, the entry's record and its reads. Fake timers, a fixed
 * Math.random, real files in a fresh temp dir, faults through the seam.
 */
import fs from 'node:fs';
import { getEventListeners } from 'node:events';
import path from 'node:path';
import { createFileSystem } from '../lib/files/fs-seam.js';
import { createEntry, parseOwner, prepareEntry, readEntry, readRecord } from '../lib/files/lock-entry.js';
import { StaleWatch } from '../lib/files/lock-staleness.js';
import { pollDelay, sleep } from '../lib/files/lock-wait.js';
import { fsError, makeTempDir, removeTempDir } from './helpers/common.js';

let dir: string;
let entry: string;
beforeEach(() => {
  dir = makeTempDir();
  entry = path.join(dir, 'sessions.enc.lock');
  jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
});
afterEach(() => {
  const timersLeft = jest.getTimerCount();
  jest.useRealTimers();
  jest.restoreAllMocks();
  removeTempDir(dir);
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

describe('FR-2 (issue 9): the lock entry’s owner record', () => {
  const owner = { pid: 42, hostname: 'h', token: 't', createdAt: 7 };

  test('a record with every field typed right is read back with exactly those fields', () => {
    expect(parseOwner(JSON.stringify({ ...owner, extra: 'x' }))).toEqual(owner);
  });

  test.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string pid', JSON.stringify({ ...owner, pid: '42' })],
    ['a numeric hostname', JSON.stringify({ ...owner, hostname: 1 })],
    ['no token', JSON.stringify({ ...owner, token: undefined })],
    ['a string createdAt', JSON.stringify({ ...owner, createdAt: '7' })],
  ])('%s is no owner record', (_label, content) => {
    expect(parseOwner(content)).toBeUndefined();
  });
});

describe('FR-2 (issue 9), NFR-8: creating and reading the entry', () => {
  test('createEntry writes the record, sets the mtime from our clock, and reports false when the entry exists', async () => {
    expect(await createEntry(createFileSystem(), entry, 'ours', 1_700_000_000_000)).toBe(true);
    expect(fs.readFileSync(entry, 'utf8')).toBe('ours');
    expect(fs.statSync(entry).mtimeMs).toBe(1_700_000_000_000);
    expect(await createEntry(createFileSystem(), entry, 'theirs', Date.now())).toBe(false);
    expect(fs.readFileSync(entry, 'utf8')).toBe('ours');
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock']);
  });

  test('a failing utimes after the create is ignored: the entry is still created', async () => {
    const seam = createFileSystem({ utimes: () => Promise.reject(fsError('EPERM', 'utime')) });
    expect(await createEntry(seam, entry, 'ours', Date.now())).toBe(true);
    expect(fs.readFileSync(entry, 'utf8')).toBe('ours');
  });

  test('a temp file that keeps vanishing before the link is retried three times, then ENOENT is reported', async () => {
    let links = 0;
    const seam = createFileSystem({
      link: async () => {
        links += 1;
        throw fsError('ENOENT', 'link');
      },
    });
    await expect(createEntry(seam, entry, 'ours', Date.now())).rejects.toMatchObject({ code: 'ENOENT' });
    expect(links).toBe(3);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('any other link error is reported at once', async () => {
    let links = 0;
    const seam = createFileSystem({
      link: async () => {
        links += 1;
        throw fsError('EACCES', 'link');
      },
    });
    await expect(createEntry(seam, entry, 'ours', Date.now())).rejects.toMatchObject({ code: 'EACCES' });
    expect(links).toBe(1);
  });

  test('prepareEntry leaves a temp file holding the record; a failed write closes and removes it and rethrows', async () => {
    const temp = await prepareEntry(createFileSystem(), entry, 'ours');
    expect(path.dirname(temp)).toBe(dir);
    expect(fs.readFileSync(temp, 'utf8')).toBe('ours');
    fs.unlinkSync(temp);
    const failure = fsError('ENOSPC', 'write');
    let closes = 0;
    const seam = createFileSystem({
      write: () => Promise.reject(failure),
      close: async (handle) => {
        closes += 1;
        await handle.close();
      },
    });
    await expect(prepareEntry(seam, entry, 'ours')).rejects.toBe(failure);
    expect(closes).toBe(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('readEntry: the record and its mtime; undefined when there is none; other errors rethrown', async () => {
    fs.writeFileSync(entry, 'record');
    const when = new Date(1_700_000_000_000);
    fs.utimesSync(entry, when, when);
    expect(await readEntry(createFileSystem(), entry)).toEqual({ content: 'record', mtimeMs: 1_700_000_000_000 });
    expect(await readEntry(createFileSystem(), path.join(dir, 'none.lock'))).toBeUndefined();
    const eacces = fsError('EACCES', 'open');
    await expect(readEntry(createFileSystem({ readFile: () => Promise.reject(eacces) }), entry)).rejects.toBe(eacces);
  });

  test('readEntry: a directory at the path (lstat says not a file) is ERR_LOCK_ENTRY_INVALID, naming the path', async () => {
    fs.mkdirSync(entry);
    await expect(readEntry(createFileSystem(), entry)).rejects.toMatchObject({
      code: 'ERR_LOCK_ENTRY_INVALID',
      lockPath: entry,
      message: `the lock entry ${JSON.stringify(entry)} is not a regular file; remove it by hand`,
    });
  });

  test('readRecord: the record, undefined when there is none, other errors rethrown', async () => {
    fs.writeFileSync(entry, 'record');
    expect(await readRecord(createFileSystem(), entry)).toBe('record');
    expect(await readRecord(createFileSystem(), path.join(dir, 'none.lock'))).toBeUndefined();
    const eio = fsError('EIO', 'read');
    await expect(readRecord(createFileSystem({ readFile: () => Promise.reject(eio) }), entry)).rejects.toBe(eio);
  });
});
