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
import { removeEntryUnderSubLock, takeOverEntry, TakeoverLock, Tenure } from '../lib/files/takeover-lock.js';
import { pollDelay, sleep } from '../lib/files/lock-wait.js';
import { drain, fsError, makeTempDir, removeTempDir } from './helpers/common.js';

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

describe('FR-2: staleness by wall age or by an unchanged pair on the monotonic clock', () => {
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

describe('FR-2: the lock entry’s owner record', () => {
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

describe('FR-2, NFR-8: creating and reading the entry', () => {
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

describe('FR-2: the takeover sub-lock', () => {
  const STALE_MS = 10_000;
  const sub = (): string => `${entry}.takeover`;

  test('a tenure may act only within staleMs / 2 of its start; an overstayed one leaves its sub-lock to be broken', async () => {
    fs.writeFileSync(sub(), 'mine');
    const tenure = new Tenure(createFileSystem(), sub(), 'mine', performance.now(), STALE_MS);
    expect(await tenure.isOurs()).toBe(true);
    jest.advanceTimersByTime(STALE_MS / 2 - 1);
    expect(tenure.isFresh()).toBe(true);
    jest.advanceTimersByTime(1);
    expect(tenure.isFresh()).toBe(false);
    await tenure.leave();
    expect(fs.existsSync(sub())).toBe(true);
    fs.writeFileSync(sub(), 'another');
    expect(await tenure.isOurs()).toBe(false);
  });

  test('leaving removes the sub-lock; one already gone is fine; another unlink error is rethrown', async () => {
    fs.writeFileSync(sub(), 'mine');
    await new Tenure(createFileSystem(), sub(), 'mine', performance.now(), STALE_MS).leave();
    expect(fs.existsSync(sub())).toBe(false);
    await expect(new Tenure(createFileSystem(), sub(), 'mine', performance.now(), STALE_MS).leave()).resolves.toBeUndefined();
    const eperm = fsError('EPERM', 'unlink');
    const failing = new Tenure(createFileSystem({ unlink: () => Promise.reject(eperm) }), sub(), 'mine', performance.now(), STALE_MS);
    await expect(failing.leave()).rejects.toBe(eperm);
  });

  test('tryEnter: a tenure when the sub-lock is free; undefined while another holds it; a holder seen unchanged for staleMs is broken', async () => {
    const first = await new TakeoverLock(createFileSystem(), entry, STALE_MS).tryEnter();
    expect(first).toBeInstanceOf(Tenure);
    const held = fs.readFileSync(sub(), 'utf8');
    const rival = new TakeoverLock(createFileSystem(), entry, STALE_MS);
    expect(await rival.tryEnter()).toBeUndefined();
    jest.advanceTimersByTime(STALE_MS - 1);
    expect(await rival.tryEnter()).toBeUndefined();
    expect(fs.readFileSync(sub(), 'utf8')).toBe(held);
    jest.advanceTimersByTime(1);
    expect(await rival.tryEnter()).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(await rival.tryEnter()).toBeInstanceOf(Tenure);
  });

  test('a sub-lock is judged by the monotonic clock only: an hour-old mtime is not broken before staleMs unchanged', async () => {
    jest.setSystemTime(1_767_225_600_000);
    fs.writeFileSync(sub(), 'holder');
    const old = (Date.now() - 3_600_000) / 1000;
    fs.utimesSync(sub(), old, old);
    const rival = new TakeoverLock(createFileSystem(), entry, STALE_MS);
    expect(await rival.tryEnter()).toBeUndefined();
    jest.advanceTimersByTime(STALE_MS - 1);
    expect(await rival.tryEnter()).toBeUndefined();
    expect(fs.readFileSync(sub(), 'utf8')).toBe('holder');
  });

  test('breaking a stale sub-lock that was replaced meanwhile links the new one back', async () => {
    fs.writeFileSync(sub(), 'dead holder');
    let isSwapping = false;
    const seam = createFileSystem({
      rename: async (from, to) => {
        // Between the judgement and the move, the dead holder's sub-lock was broken and a live one made.
        if (isSwapping) fs.writeFileSync(from, 'live holder');
        await fs.promises.rename(from, to);
      },
    });
    const breaker = new TakeoverLock(seam, entry, STALE_MS);
    expect(await breaker.tryEnter()).toBeUndefined();
    jest.advanceTimersByTime(STALE_MS);
    isSwapping = true;
    expect(await breaker.tryEnter()).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock.takeover']);
    expect(fs.readFileSync(sub(), 'utf8')).toBe('live holder');
  });

  test('breaking a sub-lock that vanished meanwhile is a no-op; another rename error is rethrown', async () => {
    fs.writeFileSync(sub(), 'dead holder');
    let renameError: Error = fsError('ENOENT', 'rename');
    const seam = createFileSystem({ rename: () => Promise.reject(renameError) });
    const breaker = new TakeoverLock(seam, entry, STALE_MS);
    await breaker.tryEnter();
    jest.advanceTimersByTime(STALE_MS);
    await expect(breaker.tryEnter()).resolves.toBeUndefined();
    renameError = fsError('EACCES', 'rename');
    await expect(breaker.tryEnter()).rejects.toBe(renameError);
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock.takeover']);
  });
});

describe('FR-2: takeOverEntry and removeEntryUnderSubLock', () => {
  const STALE_MS = 10_000;
  const staleEntry = (content: string): void => {
    fs.writeFileSync(entry, content);
    const when = (Date.now() - STALE_MS - 1) / 1000;
    fs.utimesSync(entry, when, when);
  };
  const judged = async (): Promise<StaleWatch> => {
    const watch = new StaleWatch(STALE_MS);
    const seen = await readEntry(createFileSystem(), entry);
    expect(watch.untilStale(seen!)).toBeLessThanOrEqual(0);
    return watch;
  };

  test('taken: the judged entry is replaced with ours, and no temp file or sub-lock is left', async () => {
    staleEntry('dead');
    const watch = await judged();
    const unlinked: string[] = [];
    const seam = createFileSystem({
      unlink: async (file) => {
        unlinked.push(path.basename(file));
        await fs.promises.unlink(file);
      },
    });
    const outcome = await takeOverEntry(seam, entry, watch, new TakeoverLock(seam, entry, STALE_MS), 'ours');
    expect(outcome).toBe('taken');
    expect(fs.readFileSync(entry, 'utf8')).toBe('ours');
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock']);
    // Our prepared temp file became the entry: nothing unlinks it afterwards.
    expect(unlinked.filter((name) => /^sessions\.enc\.lock\.\d+\..*\.tmp$/.test(name))).toEqual([]);
    expect(unlinked).toContain('sessions.enc.lock.takeover');
  });

  test('changed: an entry that is no longer the judged pair is left alone', async () => {
    staleEntry('dead');
    const watch = await judged();
    staleEntry('another');
    const outcome = await takeOverEntry(createFileSystem(), entry, watch, new TakeoverLock(createFileSystem(), entry, STALE_MS), 'ours');
    expect(outcome).toBe('changed');
    expect(fs.readFileSync(entry, 'utf8')).toBe('another');
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock']);
  });

  test('changed: the same pair, no longer stale when re-judged under the sub-lock (the wall clock stepped back), is left alone', async () => {
    staleEntry('dead');
    const watch = await judged();
    jest.setSystemTime(Date.now() - 2000);
    const outcome = await takeOverEntry(createFileSystem(), entry, watch, new TakeoverLock(createFileSystem(), entry, STALE_MS), 'ours');
    expect(outcome).toBe('changed');
    expect(fs.readFileSync(entry, 'utf8')).toBe('dead');
  });

  test('absent: the entry is gone; busy: another holds the sub-lock; neither leaves our temp file', async () => {
    staleEntry('dead');
    const watch = await judged();
    fs.unlinkSync(entry);
    expect(await takeOverEntry(createFileSystem(), entry, watch, new TakeoverLock(createFileSystem(), entry, STALE_MS), 'ours')).toBe('absent');
    expect(fs.readdirSync(dir)).toEqual([]);
    staleEntry('dead');
    const again = await judged();
    fs.writeFileSync(`${entry}.takeover`, 'someone');
    expect(await takeOverEntry(createFileSystem(), entry, again, new TakeoverLock(createFileSystem(), entry, STALE_MS), 'ours')).toBe('busy');
    expect(fs.readdirSync(dir).sort()).toEqual(['sessions.enc.lock', 'sessions.enc.lock.takeover']);
    expect(fs.readFileSync(entry, 'utf8')).toBe('dead');
  });

  test.each([
    ['the entry', ''],
    ['its own sub-lock record', '.takeover'],
  ])('a tenure that overstays reading %s does not replace the entry', async (_label, suffix) => {
    staleEntry('dead');
    const watch = await judged();
    const seam = createFileSystem({
      readFile: async (file) => {
        // One read under the sub-lock stalls past staleMs / 2.
        if (file === `${entry}${suffix}`) jest.advanceTimersByTime(STALE_MS / 2);
        return fs.promises.readFile(file, 'utf8');
      },
    });
    expect(await takeOverEntry(seam, entry, watch, new TakeoverLock(seam, entry, STALE_MS), 'ours')).toBe('changed');
    expect(fs.readFileSync(entry, 'utf8')).toBe('dead');
    expect(fs.readdirSync(dir).sort()).toEqual(['sessions.enc.lock', 'sessions.enc.lock.takeover']);
  });

  test('removeEntryUnderSubLock removes only the entry holding our record, and waits while the sub-lock is held', async () => {
    fs.writeFileSync(entry, 'theirs');
    await removeEntryUnderSubLock(createFileSystem(), entry, 'ours', STALE_MS, 25);
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock']);
    fs.writeFileSync(entry, 'ours');
    fs.writeFileSync(`${entry}.takeover`, 'someone');
    randomIs(0.5);
    const start = Date.now();
    let tries = 0;
    const seam = createFileSystem({
      link: async (from, to) => {
        if (to === `${entry}.takeover`) tries += 1;
        await fs.promises.link(from, to);
      },
    });
    let isDone = false;
    const removing = removeEntryUnderSubLock(seam, entry, 'ours', STALE_MS, 25).then(() => (isDone = true));
    // Fake time moves only while the remover sleeps between polls, never while its real I/O runs.
    const step = async (): Promise<void> => {
      if (jest.getTimerCount() > 0) await jest.advanceTimersByTimeAsync(25);
      else await drain();
    };
    while (tries < 20) await step();
    expect(isDone).toBe(false);
    // The polls back off like a waiter's: 25, 37.5, 56... up to 200 ms, so 20 of them take seconds.
    expect(Date.now() - start).toBeGreaterThan(2000);
    expect(fs.existsSync(entry)).toBe(true);
    fs.unlinkSync(`${entry}.takeover`);
    while (!isDone) await step();
    await removing;
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('removeEntryUnderSubLock does not remove the entry when its tenure overstays the read', async () => {
    fs.writeFileSync(entry, 'ours');
    const seam = createFileSystem({
      readFile: async (file) => {
        if (file === entry) jest.advanceTimersByTime(STALE_MS / 2);
        return fs.promises.readFile(file, 'utf8');
      },
    });
    await removeEntryUnderSubLock(seam, entry, 'ours', STALE_MS, 25);
    expect(fs.readdirSync(dir).sort()).toEqual(['sessions.enc.lock', 'sessions.enc.lock.takeover']);
  });

  test('removeEntryUnderSubLock: an entry already gone is fine; another unlink error is rethrown and the sub-lock is left', async () => {
    fs.writeFileSync(entry, 'ours');
    const eperm = fsError('EPERM', 'unlink');
    const seam = createFileSystem({ unlink: (file) => (file === entry ? Promise.reject(eperm) : fs.promises.unlink(file)) });
    await expect(removeEntryUnderSubLock(seam, entry, 'ours', STALE_MS, 25)).rejects.toBe(eperm);
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock']);
    const gone = createFileSystem({ unlink: (file) => (file === entry ? Promise.reject(fsError('ENOENT', 'unlink')) : fs.promises.unlink(file)) });
    await expect(removeEntryUnderSubLock(gone, entry, 'ours', STALE_MS, 25)).resolves.toBeUndefined();
  });
});
