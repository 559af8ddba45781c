/**
 * Issue 9, item 2: the cross-process lock, driven in one process with fake
 * timers (real files, real I/O). Two acquirers in one process are as
 * independent as two processes: each has its own token, and the lock is not
 * re-entrant. Cross-process behaviour is in files-process-lock.process.test.ts.
 */
import fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFileSystem, type FileSystem } from '../lib/files/fs-seam.js';
import { acquireProcessLock, withProcessLock, type HeldLock, type ProcessLockOptions } from '../lib/files/process-lock.js';
import { sweepTempFiles, TEMP_SWEEP_MIN_AGE_MS } from '../lib/files/temp-sweep.js';
import { deferred } from './helpers/queue-harness.js';
import { makeTempDir, removeTempDir, useFakeTimersWithRealIo } from './helpers/store-harness.js';

let dir: string;
let target: string;
let lockFile: string;
beforeEach(() => {
  dir = fs.realpathSync(makeTempDir());
  target = path.join(dir, 'sessions.enc');
  lockFile = `${target}.lock`;
  useFakeTimersWithRealIo();
});
afterEach(() => {
  const timersLeft = jest.getTimerCount();
  jest.useRealTimers();
  jest.restoreAllMocks();
  removeTempDir(dir);
  expect(timersLeft).toBe(0);
});

const STALE_MS = 10_000;

/** File operations of the test's acquirers still running on the real file system. */
let inFlight = 0;

/** The real file system (with `overrides`), counting operations in flight so the driver knows when I/O is done. */
function io(overrides: Partial<FileSystem> = {}): FileSystem {
  const base = createFileSystem(overrides);
  const counted: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(base) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    counted[name] = async (...args: unknown[]) => {
      inFlight += 1;
      try {
        return await fn(...args);
      } finally {
        inFlight -= 1;
      }
    };
  }
  return counted as unknown as FileSystem;
}

/** Acquires with the counting file system unless the test brings its own. */
function acquire(options: ProcessLockOptions = {}): Promise<HeldLock> {
  return acquireProcessLock(target, { fileSystem: io(), ...options });
}

/** Turns the real event loop until no counted file operation has been running for a few turns: every acquirer now waits on a timer. */
async function settleIo(): Promise<void> {
  for (let quiet = 0, turns = 0; quiet < 3 && turns < 100_000; turns += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    quiet = inFlight === 0 ? quiet + 1 : 0;
  }
}

/** Advances the fake clock in `stepMs` steps, letting real I/O finish before each, until `done()` or `totalMs`. */
async function drive(totalMs: number, done: () => boolean = () => false, stepMs = 10): Promise<void> {
  for (let elapsed = 0; elapsed < totalMs && !done(); elapsed += stepMs) {
    await settleIo();
    await jest.advanceTimersByTimeAsync(stepMs);
  }
  await settleIo();
}

/** A lock entry of a holder that is gone, last refreshed `ageMs` ago on the fake clock. */
function writeForeignEntry(ageMs: number, token = 'f'.repeat(32)): string {
  const content = JSON.stringify({ pid: 999_999, hostname: 'elsewhere', token, createdAt: 0 });
  fs.writeFileSync(lockFile, content);
  const when = (Date.now() - ageMs) / 1000;
  fs.utimesSync(lockFile, when, when);
  return content;
}

function ownerToken(): string | undefined {
  return (JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { token?: string }).token;
}

describe('process lock: one holder at a time (FR-1.1, FR-2.3)', () => {
  test('an uncontended acquire and release need no timer to fire and leave no timer and no file behind', async () => {
    const lock = await acquire();
    const record = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as Record<string, unknown>;
    expect(record).toEqual({ pid: process.pid, hostname: os.hostname(), token: expect.stringMatching(/^[0-9a-f]{32}$/), createdAt: Date.now() });
    expect(jest.getTimerCount()).toBe(1); // the heartbeat
    await lock.release();
    expect(jest.getTimerCount()).toBe(0);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('two independent acquirers never hold the lock at once (probe)', async () => {
    let inUse = false;
    let entries = 0;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 10; i += 1) {
        await withProcessLock(target, async (lock) => {
          expect(inUse).toBe(false);
          inUse = true;
          entries += 1;
          await fsp.appendFile(path.join(dir, 'log'), 'x'); // real I/O inside the critical section
          await lock.assertHeld();
          inUse = false;
        }, { fileSystem: io() });
      }
    };
    const both = track(Promise.all([worker(), worker()]));
    await drive(60_000, () => both.isSettled);
    expect(both.outcome).toBe('fulfilled');
    expect(entries).toBe(20);
    expect(fs.readFileSync(path.join(dir, 'log'), 'utf8')).toHaveLength(20);
  });

  test('a second acquire in the same process waits until the first releases (not re-entrant)', async () => {
    const first = await acquire();
    const second = track(acquire());
    await drive(STALE_MS * 3, () => second.isSettled);
    expect(second.isSettled).toBe(false);
    await first.release();
    await drive(1000, () => second.isSettled);
    expect(second.outcome).toBe('fulfilled');
    await (await second.promise).release();
  });
});

describe('process lock: stale entries are taken over by mtime age only', () => {
  test('an entry is not taken over before staleMs, and is right after', async () => {
    const foreign = writeForeignEntry(0);
    const acquiring = track(acquire({ staleMs: STALE_MS }));
    await drive(STALE_MS - 200, () => acquiring.isSettled);
    expect(acquiring.isSettled).toBe(false);
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(foreign);
    await drive(1000, () => acquiring.isSettled);
    expect(acquiring.outcome).toBe('fulfilled');
    expect(ownerToken()).not.toBe('f'.repeat(32));
    // The taken-over entry's heartbeat time is set from our (here fake) clock, not left at the rename's.
    expect(Math.abs(fs.statSync(lockFile).mtimeMs - Date.now())).toBeLessThan(100);
    await (await acquiring.promise).release();
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  test('an old entry of a pid that looks alive is still stale (pids are per namespace)', async () => {
    fs.writeFileSync(lockFile, JSON.stringify({ pid: process.pid, hostname: os.hostname(), token: 'x', createdAt: 0 }));
    const old = (Date.now() - STALE_MS - 1) / 1000;
    fs.utimesSync(lockFile, old, old);
    const lock = await acquire();
    expect(ownerToken()).not.toBe('x');
    await lock.release();
  });

  test('a holder kept fresh by its heartbeat is never taken over, however long it holds', async () => {
    const holder = await acquire({ staleMs: STALE_MS });
    const waiter = track(acquire({ staleMs: STALE_MS }));
    await drive(STALE_MS * 5, () => waiter.isSettled, 50);
    expect(waiter.isSettled).toBe(false);
    // What another process's waiter judges by (a waiter here would defer to the holder anyway):
    expect(Date.now() - fs.statSync(lockFile).mtimeMs).toBeLessThan(STALE_MS / 3 + 100);
    await expect(holder.assertHeld()).resolves.toBeUndefined();
    expect(holder.isCompromised).toBe(false);
    await holder.release();
    await drive(1000, () => waiter.isSettled);
    await (await waiter.promise).release();
  });

  test('two waiters that both judge one entry stale: the slower one, entering the takeover sub-lock late, leaves the winner’s fresh entry alone', async () => {
    writeForeignEntry(STALE_MS + 1000);
    const linkReached = deferred();
    const linkGate = deferred();
    let isPaused = true;
    // The slow waiter stops right before it creates the takeover sub-lock, having judged the entry stale.
    const slowFs = io({
      link: async (from, to) => {
        if (isPaused && to === `${lockFile}.takeover`) {
          isPaused = false;
          linkReached.resolve();
          await linkGate.promise;
        }
        await fsp.link(from, to);
      },
    });
    const slow = track(acquire({ fileSystem: slowFs }));
    await linkReached.promise;
    const winner = await acquire();
    const winnerToken = ownerToken();
    linkGate.resolve();
    await drive(2000, () => slow.isSettled);
    expect(slow.isSettled).toBe(false);
    expect(ownerToken()).toBe(winnerToken);
    expect(fs.existsSync(`${lockFile}.takeover`)).toBe(false);
    await expect(winner.assertHeld()).resolves.toBeUndefined();
    await winner.release();
    await drive(1000, () => slow.isSettled);
    await (await slow.promise).release();
  });

  test('a waiter in this process never takes over a lock this process holds, even when its heartbeat is stuck', async () => {
    const stuck = deferred();
    let isStuck = false;
    const utimes = async (file: string, timeMs: number): Promise<void> => {
      if (isStuck) await stuck.promise;
      await fsp.utimes(file, timeMs / 1000, timeMs / 1000);
    };
    // Not counted: its stuck call would look like I/O in flight forever.
    const holder = await acquire({ fileSystem: createFileSystem({ utimes }) });
    isStuck = true;
    const waiter = track(acquire());
    await drive(STALE_MS * 3, () => waiter.isSettled, 100);
    expect(waiter.isSettled).toBe(false);
    stuck.resolve();
    await holder.release();
    await drive(1000, () => waiter.isSettled);
    await (await waiter.promise).release();
  });
});

describe('process lock: a lost lock is detected and never removed from its new holder', () => {
  test('the heartbeat notices a vanished entry: isCompromised, and assertHeld rejects ERR_LOCK_COMPROMISED', async () => {
    const lock = await acquire({ staleMs: 3000 });
    fs.unlinkSync(lockFile);
    expect(lock.isCompromised).toBe(false);
    await drive(1100, () => lock.isCompromised);
    expect(lock.isCompromised).toBe(true);
    expect(jest.getTimerCount()).toBe(0); // the heartbeat stopped
    await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED', lockPath: lockFile });
    await lock.release();
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  test('assertHeld rejects at once when the entry belongs to another holder, and release leaves that entry alone', async () => {
    const lock = await acquire();
    const foreign = writeForeignEntry(0);
    await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED', message: expect.stringContaining('pid 999999') });
    expect(lock.isCompromised).toBe(true);
    // Known lost: a second assertHeld rejects without touching the new holder's entry.
    const old = (Date.now() - 5000) / 1000;
    fs.utimesSync(lockFile, old, old);
    const mtimeMs = fs.statSync(lockFile).mtimeMs;
    await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED' });
    expect(fs.statSync(lockFile).mtimeMs).toBe(mtimeMs);
    await lock.release();
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(foreign);
  });

  test('release never removes a foreign entry, even one the heartbeat has not looked at yet', async () => {
    const lock = await acquire();
    const foreign = writeForeignEntry(0);
    await lock.release();
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(foreign);
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock']);
  });

  test('a release that cannot read the entry leaves it in place and rejects with the read error', async () => {
    let isFailing = false;
    const eio = Object.assign(new Error('injected'), { code: 'EIO' });
    const readFile = async (file: string): Promise<string> => {
      if (isFailing) throw eio;
      return fsp.readFile(file, 'utf8');
    };
    const lock = await acquire({ fileSystem: io({ readFile }) });
    const foreign = writeForeignEntry(0);
    isFailing = true;
    await expect(lock.release()).rejects.toBe(eio);
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(foreign);
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock']);
  });

  test('a heartbeat failing for less than staleMs is survived; for staleMs it compromises the lock', async () => {
    let isFailing = true;
    const eio = Object.assign(new Error('injected'), { code: 'EIO' });
    const utimes = async (file: string, timeMs: number): Promise<void> => {
      if (isFailing) throw eio;
      const seconds = timeMs / 1000;
      await fsp.utimes(file, seconds, seconds);
    };
    const lock = await acquire({ staleMs: 3000, fileSystem: io({ utimes }) });
    await drive(2500);
    expect(lock.isCompromised).toBe(false);
    await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'EIO' });
    isFailing = false;
    await expect(lock.assertHeld()).resolves.toBeUndefined();
    isFailing = true;
    await drive(4000, () => lock.isCompromised);
    expect(lock.isCompromised).toBe(true);
    await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED', cause: eio, message: `lost the lock ${JSON.stringify(lockFile)}: its heartbeat failed for 3000 ms` });
    await lock.release();
    expect(fs.existsSync(lockFile)).toBe(false); // still ours on disk, so release removed it
  });

  test('a loss that a heartbeat already in flight notices after release() is not reported: the lock was given up', async () => {
    const gate = deferred();
    let isStuck = false;
    let touches = 0;
    // Not counted: the stuck call would look like I/O in flight forever.
    const utimes = async (file: string, timeMs: number): Promise<void> => {
      touches += 1;
      if (isStuck) await gate.promise;
      await fsp.utimes(file, timeMs / 1000, timeMs / 1000);
    };
    const lock = await acquire({ staleMs: 3000, fileSystem: createFileSystem({ utimes }) });
    isStuck = true;
    const before = touches;
    await jest.advanceTimersByTimeAsync(1000);
    expect(touches).toBe(before + 1);
    const releasing = lock.release();
    fs.unlinkSync(lockFile);
    gate.resolve();
    await releasing;
    expect(lock.isCompromised).toBe(false);
    await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'ERR_LOCK_RELEASED' });
  });

  test('a heartbeat failing for exactly staleMs since the last refresh compromises the lock', async () => {
    const utimes = async (): Promise<void> => Promise.reject(Object.assign(new Error('injected'), { code: 'EIO' }));
    const lock = await acquire({ staleMs: 3000, fileSystem: io({ utimes }) });
    await drive(2990);
    expect(lock.isCompromised).toBe(false);
    await drive(10);
    expect(lock.isCompromised).toBe(true);
    await lock.release();
  });

  test('a lock lost by its heartbeat is no longer deferred to here: a waiter in this process takes its stale entry over', async () => {
    let isFailing = false;
    const utimes = async (file: string, timeMs: number): Promise<void> => {
      if (isFailing && file === lockFile) throw Object.assign(new Error('injected'), { code: 'EIO' });
      await fsp.utimes(file, timeMs / 1000, timeMs / 1000);
    };
    const lost = await acquire({ staleMs: 3000, fileSystem: io({ utimes }) });
    isFailing = true;
    await drive(3500, () => lost.isCompromised);
    expect(lost.isCompromised).toBe(true);
    const waiter = track(acquire({ staleMs: 3000 }));
    await drive(4000, () => waiter.isSettled);
    expect(waiter.outcome).toBe('fulfilled');
    await (await waiter.promise).release();
    await lost.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('an entry whose release failed is no longer deferred to here: a waiter in this process takes it over once stale', async () => {
    const eperm = Object.assign(new Error('injected'), { code: 'EPERM' });
    const refused = await acquire({ staleMs: 3000, fileSystem: io({ unlink: async (file) => (file === lockFile ? Promise.reject(eperm) : fsp.unlink(file)) }) });
    await expect(refused.release()).rejects.toBe(eperm);
    const waiter = track(acquire({ staleMs: 3000 }));
    await drive(4000, () => waiter.isSettled);
    expect(waiter.outcome).toBe('fulfilled');
    await (await waiter.promise).release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('the lost-lock errors say why, naming the lock file, and a foreign record that is no owner record names nobody', async () => {
    const vanished = await acquire();
    fs.unlinkSync(lockFile);
    const failure = await vanished.assertHeld().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ERR_LOCK_COMPROMISED', message: `lost the lock ${JSON.stringify(lockFile)}: its entry vanished`, cause: expect.objectContaining({ code: 'ENOENT' }) });
    await vanished.release();
    const taken = await acquire();
    writeForeignEntry(0);
    await expect(taken.assertHeld()).rejects.toMatchObject({ message: `lost the lock ${JSON.stringify(lockFile)}: it was taken over by pid 999999 on "elsewhere"` });
    await taken.release();
    fs.unlinkSync(lockFile);
    const garbled = await acquire();
    fs.writeFileSync(lockFile, 'not a record');
    await expect(garbled.assertHeld()).rejects.toMatchObject({ message: `lost the lock ${JSON.stringify(lockFile)}: it was taken over` });
    await garbled.release();
    expect(fs.readFileSync(lockFile, 'utf8')).toBe('not a record');
  });

  test('an entry that vanishes between the heartbeat’s touch and its read is lost too', async () => {
    const utimes = async (file: string, timeMs: number): Promise<void> => {
      await fsp.utimes(file, timeMs / 1000, timeMs / 1000);
      if (file === lockFile && isVanishing) fs.unlinkSync(file);
    };
    let isVanishing = false;
    const lock = await acquire({ fileSystem: io({ utimes }) });
    isVanishing = true;
    const failure = await lock.assertHeld().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ERR_LOCK_COMPROMISED', message: `lost the lock ${JSON.stringify(lockFile)}: its entry vanished` });
    expect((failure as Error).cause).toBeUndefined(); // the read said so, no error
    expect(lock.isCompromised).toBe(true);
    await lock.release();
  });

  test('assertHeld after release rejects ERR_LOCK_RELEASED; release is idempotent', async () => {
    const lock = await acquire();
    const first = lock.release();
    expect(lock.release()).toBe(first);
    await first;
    await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'ERR_LOCK_RELEASED', lockPath: lockFile, message: `the lock ${JSON.stringify(lockFile)} was released` });
  });
});

describe('process lock: waiting, aborting and options', () => {
  test('an abort while waiting rejects ERR_LOCK_ABORTED with the reason, leaves no timer and does not touch the holder', async () => {
    const holder = await acquire();
    const controller = new AbortController();
    const waiter = track(acquire({ signal: controller.signal }));
    const result = acquire({ signal: controller.signal }).catch((error: unknown) => error);
    await drive(500);
    const reason = new Error('client went away');
    controller.abort(reason);
    await drive(100, () => waiter.isSettled);
    expect(waiter.outcome).toBe('rejected');
    expect(await result).toMatchObject({ code: 'ERR_LOCK_ABORTED', cause: reason });
    expect(jest.getTimerCount()).toBe(1); // only the holder's heartbeat
    await expect(holder.assertHeld()).resolves.toBeUndefined();
    await holder.release();
  });

  test('a link that reports EEXIST for our own new entry (a retried NFS call) still acquires', async () => {
    const link = async (from: string, to: string): Promise<void> => {
      await fsp.link(from, to);
      if (to === lockFile) throw Object.assign(new Error('injected'), { code: 'EEXIST' });
    };
    const lock = await acquire({ fileSystem: io({ link }) });
    await expect(lock.assertHeld()).resolves.toBeUndefined();
    await lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('an entry released between our failed link and our read is retried at once, but only once in a row', async () => {
    let phantoms = 0;
    // EEXIST with no entry behind it: what a holder releasing right after our link looks like.
    const link = async (from: string, to: string): Promise<void> => {
      if (to === lockFile && phantoms < 2) {
        phantoms += 1;
        throw Object.assign(new Error('injected'), { code: 'EEXIST' });
      }
      await fsp.link(from, to);
    };
    const acquiring = track(acquire({ fileSystem: io({ link }) }));
    await settleIo();
    expect(phantoms).toBe(2);
    expect(acquiring.isSettled).toBe(false);
    expect(jest.getTimerCount()).toBe(1); // the poll after the second miss in a row
    await drive(1000, () => acquiring.isSettled);
    const lock = await acquiring.promise;
    await lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a waiter behind a fresh foreign holder backs off to 8 × retryMs and attempts no takeover', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    writeForeignEntry(0);
    let attempts = 0;
    const takeoverLinks: string[] = [];
    const link = async (from: string, to: string): Promise<void> => {
      if (to === lockFile) attempts += 1;
      if (to === `${lockFile}.takeover`) takeoverLinks.push(to);
      await fsp.link(from, to);
    };
    const waiter = track(acquire({ fileSystem: io({ link }) }));
    await drive(5000, () => waiter.isSettled);
    // 25, 37.5, 56, 84, 127, 190 ms, then 200 ms each: 1 + 6 + 21 attempts in 5 s.
    expect(attempts).toBeGreaterThanOrEqual(25);
    expect(attempts).toBeLessThanOrEqual(30);
    expect(takeoverLinks).toEqual([]);
    expect(waiter.isSettled).toBe(false);
    fs.unlinkSync(lockFile);
    await drive(1000, () => waiter.isSettled);
    await (await waiter.promise).release();
  });

  test('a stale entry released while we enter the takeover sub-lock is created at once, without another poll', async () => {
    writeForeignEntry(STALE_MS + 1000);
    const link = async (from: string, to: string): Promise<void> => {
      if (to === `${lockFile}.takeover` && fs.existsSync(lockFile)) fs.unlinkSync(lockFile);
      await fsp.link(from, to);
    };
    const acquiring = track(acquire({ fileSystem: io({ link }) }));
    await settleIo();
    expect(acquiring.outcome).toBe('fulfilled'); // no timer had to fire
    expect(ownerToken()).not.toBe('f'.repeat(32));
    await (await acquiring.promise).release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a stale entry whose takeover sub-lock another waiter holds is polled, not spun on', async () => {
    writeForeignEntry(STALE_MS + 1000);
    fs.writeFileSync(`${lockFile}.takeover`, 'another waiter');
    let tries = 0;
    const link = async (from: string, to: string): Promise<void> => {
      if (to === `${lockFile}.takeover`) tries += 1;
      await fsp.link(from, to);
    };
    const waiter = track(acquire({ fileSystem: io({ link }) }));
    await drive(1000, () => waiter.isSettled);
    expect(waiter.isSettled).toBe(false);
    // Past staleness a waiter polls every 1 + [0, retryMs) ms (about 40 a second here); a spin would be thousands.
    expect(tries).toBeGreaterThan(10);
    expect(tries).toBeLessThan(150);
    fs.unlinkSync(`${lockFile}.takeover`);
    await drive(1000, () => waiter.isSettled);
    await (await waiter.promise).release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('an abort during an attempt that retries at once stops before the next attempt', async () => {
    const controller = new AbortController();
    const link = async (from: string, to: string): Promise<void> => {
      if (to === lockFile && !controller.signal.aborted) {
        controller.abort();
        throw Object.assign(new Error('injected'), { code: 'EEXIST' });
      }
      await fsp.link(from, to);
    };
    await expect(acquire({ fileSystem: io({ link }), signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_LOCK_ABORTED' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('an absence after a present entry is again retried at once (the once-in-a-row count restarts)', async () => {
    let calls = 0;
    const link = async (from: string, to: string): Promise<void> => {
      if (to === lockFile && calls < 3) {
        calls += 1;
        if (calls === 2) writeForeignEntry(0);
        if (calls === 3) fs.unlinkSync(lockFile);
        throw Object.assign(new Error('injected'), { code: 'EEXIST' });
      }
      await fsp.link(from, to);
    };
    const acquiring = track(acquire({ fileSystem: io({ link }) }));
    await settleIo();
    while (calls < 3) {
      await jest.advanceTimersByTimeAsync(1);
      await settleIo();
    }
    expect(acquiring.outcome).toBe('fulfilled'); // the third miss needed no poll
    await (await acquiring.promise).release();
  });

  test('a release whose unlink finds the entry gone already resolves; another unlink error rejects', async () => {
    const gone = await acquire({ fileSystem: io({ unlink: async (file) => (file === lockFile ? Promise.reject(Object.assign(new Error('injected'), { code: 'ENOENT' })) : fsp.unlink(file)) }) });
    await expect(gone.release()).resolves.toBeUndefined();
    fs.unlinkSync(lockFile);
    const eperm = Object.assign(new Error('injected'), { code: 'EPERM' });
    const refused = await acquire({ fileSystem: io({ unlink: async (file) => (file === lockFile ? Promise.reject(eperm) : fsp.unlink(file)) }) });
    await expect(refused.release()).rejects.toBe(eperm);
    expect(fs.readdirSync(dir)).toEqual(['sessions.enc.lock']);
  });

  test('an already aborted signal rejects before touching the file', async () => {
    await expect(acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_LOCK_ABORTED' });
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  test('withProcessLock returns fn’s result, and on failure rethrows fn’s error; both release', async () => {
    await expect(withProcessLock(target, async () => 42)).resolves.toBe(42);
    expect(fs.existsSync(lockFile)).toBe(false);
    const failure = new Error('task failed');
    await expect(withProcessLock(target, async () => Promise.reject(failure))).rejects.toBe(failure);
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  test('withProcessLock: a failing release rejects a successful fn, and rides on a failed fn’s error as cleanupErrors', async () => {
    const eperm = Object.assign(new Error('injected'), { code: 'EPERM' });
    const fileSystem = io({ unlink: async (file) => (file === lockFile ? Promise.reject(eperm) : fsp.unlink(file)) });
    await expect(withProcessLock(target, async () => 42, { fileSystem })).rejects.toBe(eperm);
    fs.unlinkSync(lockFile);
    const failure = new Error('task failed');
    await expect(withProcessLock(target, async () => Promise.reject(failure), { fileSystem })).rejects.toBe(failure);
    expect((failure as Error & { cleanupErrors?: unknown[] }).cleanupErrors).toEqual([eperm]);
    fs.unlinkSync(lockFile);
  });

  test.each([
    [{ staleMs: 0 }, 'staleMs'],
    [{ staleMs: Number.NaN }, 'staleMs'],
    [{ staleMs: 1000, heartbeatMs: 1000 }, 'heartbeatMs'],
    [{ staleMs: 1000, heartbeatMs: 501 }, 'heartbeatMs'],
    [{ staleMs: 499 }, 'staleMs'],
    [{ heartbeatMs: -1 }, 'heartbeatMs'],
    [{ retryMs: 2 ** 31 }, 'retryMs'],
  ])('option %j is rejected with ERR_LOCK_OPTION naming %s', async (options, name) => {
    await expect(acquireProcessLock(target, options)).rejects.toMatchObject({ code: 'ERR_LOCK_OPTION', message: expect.stringContaining(name) });
  });

  test.each([
    [{ staleMs: 1000, heartbeatMs: 1000 }, 'process lock option heartbeatMs must be at most staleMs / 2 (500)'],
    [{ retryMs: 0 }, 'process lock option retryMs must be a number of ms in (0, 2147483647]'],
    [{ staleMs: 499 }, 'process lock option staleMs must be at least 500'],
    [{ retryMs: 2 ** 31 }, 'process lock option retryMs must be a number of ms in (0, 2147483647]'],
    [{ staleMs: '10000' as unknown as number }, `process lock option staleMs must be a number of ms in (0, ${Number.MAX_SAFE_INTEGER}]`],
    [{ staleMs: 2 ** 53 }, `process lock option staleMs must be a number of ms in (0, ${Number.MAX_SAFE_INTEGER}]`],
    [{ staleMs: 2 ** 40, heartbeatMs: 2 ** 31 }, 'process lock option heartbeatMs must be a number of ms in (0, 2147483647]'],
    [{ heartbeatMs: 10_001 }, 'process lock option heartbeatMs must be a number of ms in (0, 10000]'],
  ])('option %j is rejected with the message %j and no lockPath', async (options, message) => {
    await expect(acquireProcessLock(target, options)).rejects.toMatchObject({ name: 'ProcessLockError', code: 'ERR_LOCK_OPTION', message, lockPath: undefined });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test.each([
    [{ staleMs: 500 }],
    [{ staleMs: 1000, heartbeatMs: 500 }],
    [{ retryMs: 2 ** 31 - 1 }],
    [{ staleMs: Number.MAX_SAFE_INTEGER }],
    [{ staleMs: 2 ** 40 }],
  ])('option %j, at its bound, is accepted', async (options) => {
    const lock = await acquire(options);
    expect(jest.getTimerCount()).toBe(1);
    await lock.release();
  });

  test('the default heartbeat is staleMs / 3', async () => {
    const lock = await acquire({ staleMs: 3000 });
    const mtime = (): number => fs.statSync(lockFile).mtimeMs;
    const created = mtime();
    await jest.advanceTimersByTimeAsync(999);
    await settleIo();
    expect(mtime()).toBe(created);
    await jest.advanceTimersByTimeAsync(1);
    await settleIo();
    expect(mtime()).toBe(created + 1000);
    await lock.release();
  });

  test('every spelling of a path shares one lock (canonical path)', async () => {
    const lock = await acquireProcessLock(path.join(dir, '.', 'x', '..', 'sessions.enc'));
    expect(fs.existsSync(lockFile)).toBe(true);
    await lock.release();
  });
});

describe('process lock: review findings D2-D8', () => {
  test('D3: a dead holder’s entry with an mtime an hour in the future is stale once unchanged for staleMs, not an hour later', async () => {
    writeForeignEntry(-3_600_000);
    const waiter = track(acquire());
    await drive(STALE_MS - 1000, () => waiter.isSettled, 100);
    expect(waiter.isSettled).toBe(false);
    await drive(2000, () => waiter.isSettled, 50);
    expect(waiter.outcome).toBe('fulfilled');
    await (await waiter.promise).release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('D5: a dangling symlink at the lock path rejects ERR_LOCK_ENTRY_INVALID at once instead of spinning', async () => {
    fs.symlinkSync(path.join(dir, 'nowhere'), lockFile);
    await expect(acquire()).rejects.toMatchObject({ code: 'ERR_LOCK_ENTRY_INVALID', lockPath: lockFile });
    expect(fs.lstatSync(lockFile).isSymbolicLink()).toBe(true);
  });

  test('D8: a directory at the lock path rejects ERR_LOCK_ENTRY_INVALID (not a raw EISDIR), also through a seam without isFile', async () => {
    fs.mkdirSync(lockFile);
    await expect(acquire()).rejects.toMatchObject({ code: 'ERR_LOCK_ENTRY_INVALID' });
    const stat = async (file: string): Promise<{ mtimeMs: number }> => ({ mtimeMs: (await fsp.lstat(file)).mtimeMs });
    await expect(acquire({ fileSystem: io({ stat }) })).rejects.toMatchObject({ code: 'ERR_LOCK_ENTRY_INVALID' });
  });

  test('D8: a lock temp file left by a SIGKILLed acquirer is swept once old, like any temp file', async () => {
    const leftover = path.join(dir, 'sessions.enc.lock.999999.3.0123456789ab.tmp');
    fs.writeFileSync(leftover, '{}');
    const old = (Date.now() - TEMP_SWEEP_MIN_AGE_MS - 1000) / 1000;
    fs.utimesSync(leftover, old, old);
    const result = await sweepTempFiles(createFileSystem(), dir, () => false);
    expect(result.removed).toEqual([path.basename(leftover)]);
  });

  test('D4: an acquire whose own temp file vanishes before the link (a foreign sweep) creates the entry again', async () => {
    let vanished = 0;
    const link = async (from: string, to: string): Promise<void> => {
      if (to === lockFile && vanished < 2) {
        vanished += 1;
        fs.unlinkSync(from);
      }
      await fsp.link(from, to);
    };
    const lock = await acquire({ fileSystem: io({ link }) });
    expect(vanished).toBe(2);
    await expect(lock.assertHeld()).resolves.toBeUndefined();
    await lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('D2: a holder whose heartbeat came late releases its own entry under the takeover sub-lock and leaves no sub-lock behind', async () => {
    let isFailing = false;
    const utimes = async (file: string, timeMs: number): Promise<void> => {
      if (isFailing) throw Object.assign(new Error('injected'), { code: 'EIO' });
      await fsp.utimes(file, timeMs / 1000, timeMs / 1000);
    };
    const links: string[] = [];
    const link = async (from: string, to: string): Promise<void> => {
      links.push(path.basename(to));
      await fsp.link(from, to);
    };
    const lock = await acquire({ staleMs: 4000, fileSystem: io({ utimes, link }) });
    isFailing = true;
    await drive(3200, () => false, 100);
    expect(lock.isCompromised).toBe(false);
    isFailing = false;
    await lock.release();
    expect(links).toEqual(['sessions.enc.lock', 'sessions.enc.lock.takeover']);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('D7: a target whose name nearly fills 255 bytes gets a lock entry and temp names that fit (fixed by 826c7b9; guarded here)', async () => {
    const long = path.join(dir, `${'é'.repeat(120)}.enc`);
    const longLock = await acquireProcessLock(long, { fileSystem: io() });
    expect(fs.readdirSync(dir)).toHaveLength(1);
    await longLock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('process lock, D2 (FR-2): a release skips the takeover sub-lock only while provably fresh on both clocks', () => {
  const STALE = 4000; // late at 3,000 ms
  /** An acquirer whose file system records every link target and runs `onRead` before reading the entry. */
  function recording(hooks: { onRead?: () => void; afterTouch?: () => void } = {}): { fileSystem: FileSystem; links: string[] } {
    const links: string[] = [];
    const fileSystem = io({
      link: async (from, to) => {
        links.push(path.basename(to));
        await fsp.link(from, to);
      },
      readFile: async (file) => {
        if (file === lockFile) hooks.onRead?.();
        return fsp.readFile(file, 'utf8');
      },
      utimes: async (file, timeMs) => {
        await fsp.utimes(file, timeMs / 1000, timeMs / 1000);
        if (file === lockFile) hooks.afterTouch?.();
      },
    });
    return { fileSystem, links };
  }
  const UNDER_SUB_LOCK = ['sessions.enc.lock', 'sessions.enc.lock.takeover'];

  test.each([
    [2999, ['sessions.enc.lock']],
    [3000, UNDER_SUB_LOCK],
  ])('the wall clock %i ms on since the last refresh: links %j, reading the entry once', async (stepMs, expected) => {
    let reads = 0;
    const { fileSystem, links } = recording({ onRead: () => (reads += 1) });
    jest.advanceTimersByTime(60_000); // a monotonic clock well past zero, as in a process that has run a while
    const lock = await acquire({ staleMs: STALE, fileSystem });
    await lock.assertHeld(); // a refresh on time marks nothing late
    reads = 0;
    jest.setSystemTime(Date.now() + stepMs);
    await lock.release();
    expect(links).toEqual(expected);
    expect(reads).toBe(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a lock whose entry vanished releases through the sub-lock; one that saw a foreign record touches nothing', async () => {
    let isVanishing = false;
    const vanishing = recording({ afterTouch: () => isVanishing && fs.unlinkSync(lockFile) });
    const lost = await acquire({ staleMs: STALE, fileSystem: vanishing.fileSystem });
    isVanishing = true;
    await expect(lost.assertHeld()).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED' });
    isVanishing = false;
    await lost.release();
    expect(vanishing.links).toEqual(UNDER_SUB_LOCK);
    let reads = 0;
    const foreign = recording({ onRead: () => (reads += 1) });
    const taken = await acquire({ staleMs: STALE, fileSystem: foreign.fileSystem });
    const record = writeForeignEntry(0);
    await expect(taken.assertHeld()).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED' });
    reads = 0;
    await taken.release();
    expect(reads).toBe(0);
    expect(foreign.links).toEqual(['sessions.enc.lock']);
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(record);
  });

  test('late on the monotonic clock alone (the wall clock stepped back) also goes through the sub-lock', async () => {
    let isFailing = false;
    const { fileSystem, links } = recording({
      afterTouch: () => {
        if (isFailing) throw Object.assign(new Error('injected'), { code: 'EIO' });
      },
    });
    const lock = await acquire({ staleMs: STALE, fileSystem });
    isFailing = true;
    await drive(3000, () => false, 100);
    isFailing = false;
    jest.setSystemTime(Date.now() - 3000);
    expect(lock.isCompromised).toBe(false);
    await lock.release();
    expect(links).toEqual(UNDER_SUB_LOCK);
  });

  test('a release whose read of the entry stalls into lateness goes through the sub-lock', async () => {
    let isReleasing = false;
    const { fileSystem, links } = recording({ onRead: () => isReleasing && jest.setSystemTime(Date.now() + 3000) });
    const lock = await acquire({ staleMs: STALE, fileSystem });
    isReleasing = true;
    await lock.release();
    expect(links).toEqual(UNDER_SUB_LOCK);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a heartbeat that once landed late makes the release go through the sub-lock, even when fresh again', async () => {
    let isSlow = false;
    const { fileSystem, links } = recording({ afterTouch: () => isSlow && jest.setSystemTime(Date.now() + 3000) });
    const lock = await acquire({ staleMs: STALE, fileSystem });
    isSlow = true;
    await lock.assertHeld();
    isSlow = false;
    jest.setSystemTime(Date.now() - 3000);
    await lock.assertHeld();
    await lock.release();
    expect(links).toEqual(UNDER_SUB_LOCK);
  });
});

interface Tracked<T> {
  readonly promise: Promise<T>;
  readonly isSettled: boolean;
  readonly outcome: 'pending' | 'fulfilled' | 'rejected';
}

/** Observes a promise's state without awaiting it; `promise` is the original. */
function track<T>(promise: Promise<T>): Tracked<T> {
  let outcome: Tracked<T>['outcome'] = 'pending';
  promise.then(
    () => (outcome = 'fulfilled'),
    () => (outcome = 'rejected'),
  );
  return {
    promise,
    get isSettled() {
      return outcome !== 'pending';
    },
    get outcome() {
      return outcome;
    },
  };
}
