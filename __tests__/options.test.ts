/**
 * Duration and count options (issue 10, defect 2): every one is checked at
 * construction, Infinity means "never" where never makes sense, and delays
 * past the timer limit (2^31-1 ms, which Node turns into 1 ms) still work.
 */
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { SerialQueue } from '../lib/queue/serial-queue.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { installShutdownHandlers, shutdown } from '../lib/stores/shutdown.js';
import { COUNT, DURATION_MS, numberOption } from '../lib/support/options.js';
import { MAX_TIMER_DELAY_MS, setLongTimeout } from '../lib/support/timers.js';
import { deferred, drain, recordingLogger } from './helpers/queue-harness.js';
import {
  createService, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, useFakeTimersWithRealIo,
} from './helpers/store-harness.js';

const BEYOND_TIMER_LIMIT_MS = 3e9;

/** Calls `make` and returns what it threw. */
function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('numberOption: one validator for every duration and count', () => {
  test.each([
    ['a negative duration', -1, DURATION_MS, 'from 0 up'],
    ['NaN', NaN, DURATION_MS, 'from 0 up'],
    ['a numeric string', '1000', DURATION_MS, 'got a string'],
    ['a boolean', true, DURATION_MS, 'got boolean'],
    ['-Infinity', -Infinity, DURATION_MS, 'Infinity for never'],
    ['a fraction for a count', 1.5, COUNT, 'a whole number'],
    ['Infinity where never makes no sense', Infinity, { min: 0, max: 10 }, 'from 0 to 10'],
    ['a value above the maximum', 11, { min: 0, max: 10 }, 'from 0 to 10'],
  ])('%s is refused with ERR_OPTION_RANGE naming the option and the range', (_, value, range, words) => {
    const error = thrown(() => numberOption('someMs', value, 5, range));
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ name: 'OptionRangeError', code: 'ERR_OPTION_RANGE', option: 'someMs' });
    expect((error as Error).message).toMatch(/^someMs must be /);
    expect((error as Error).message).toContain(words);
  });

  test('undefined and null take the default; 0, large finite values and Infinity (where allowed) are kept', () => {
    expect(numberOption('a', undefined, 5, DURATION_MS)).toBe(5);
    expect(numberOption('a', null, 5, DURATION_MS)).toBe(5);
    expect(numberOption('a', 0, 5, DURATION_MS)).toBe(0);
    expect(numberOption('a', BEYOND_TIMER_LIMIT_MS, 5, DURATION_MS)).toBe(BEYOND_TIMER_LIMIT_MS);
    expect(numberOption('a', Infinity, 5, DURATION_MS)).toBe(Infinity);
    expect(numberOption('a', Infinity, 5, COUNT)).toBe(Infinity);
  });
});

describe('every duration and count option is checked at construction', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeTempDir(dir));

  const service = new EncryptionService({ encryptionKey: 'options-test-key', keyStoragePath: '/nonexistent/key' });
  const logger = recordingStoreLogger();
  test.each<[string, string, () => unknown]>([
    ['SerialQueue', 'waitWarningMs', () => new SerialQueue({ waitWarningMs: -1 })],
    ['SerialQueue', 'depthWarningThreshold', () => new SerialQueue({ depthWarningThreshold: 2.5 })],
    ['SerialQueue', 'slowWaitMs', () => new SerialQueue({ slowWaitMs: NaN })],
    ['EncryptionService queue', 'waitWarningMs', () => new EncryptionService({ queue: { waitWarningMs: '5000' as never } })],
    ['PersistentSessionStore', 'sessionExpiryMs', () => new PersistentSessionStore(service, 'x', { sessionExpiryMs: '1000' as never, logger })],
    ['PersistentSessionStore', 'sessionExpiryMs', () => new PersistentSessionStore(service, 'x', { sessionExpiryMs: Infinity, logger })],
    ['PersistentSessionStore', 'maxSessions', () => new PersistentSessionStore(service, 'x', { maxSessions: 0, logger })],
    ['PersistentRefreshTokenStore', 'expirySeconds', () => new PersistentRefreshTokenStore({ logger } as never, service, 'x')],
    ['PersistentRefreshTokenStore', 'expirySeconds', () => new PersistentRefreshTokenStore({ expirySeconds: '3600' as never, logger }, service, 'x')],
    ['PersistentRefreshTokenStore', 'expirySeconds', () => new PersistentRefreshTokenStore({ expirySeconds: -1, logger }, service, 'x')],
    ['PersistentRefreshTokenStore', 'saveDebounceMs', () => new PersistentRefreshTokenStore({ expirySeconds: 60, saveDebounceMs: -5, logger }, service, 'x')],
    ['PersistentRefreshTokenStore', 'maxSaveWaitMs', () => new PersistentRefreshTokenStore({ expirySeconds: 60, maxSaveWaitMs: NaN, logger }, service, 'x')],
    ['installShutdownHandlers', 'timeoutMs', () => installShutdownHandlers([], service, { timeoutMs: -1, logger })],
  ])('%s refuses a bad %s with ERR_OPTION_RANGE', (_, option, make) => {
    const before = process.listenerCount('SIGTERM');
    expect(thrown(make)).toMatchObject({ code: 'ERR_OPTION_RANGE', option });
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  test('shutdown() rejects a bad timeoutMs with ERR_OPTION_RANGE before touching a store', async () => {
    const flush = jest.fn(() => Promise.resolve());
    await expect(shutdown([{ flush }], service, { timeoutMs: NaN })).rejects.toMatchObject({ code: 'ERR_OPTION_RANGE', option: 'timeoutMs' });
    expect(flush).not.toHaveBeenCalled();
  });

  test('a client store has no numeric option, and the good values of the others construct', () => {
    expect(() => new PersistentClientStore({ allowedRedirectUris: [], logger }, service, path.join(dir, 'c.enc'))).not.toThrow();
    expect(() => new SerialQueue({ waitWarningMs: Infinity, depthWarningThreshold: Infinity, slowWaitMs: 0 })).not.toThrow();
    expect(() => new PersistentSessionStore(service, path.join(dir, 's.enc'), { sessionExpiryMs: 0, maxSessions: Infinity, logger })).not.toThrow();
  });
});

describe('timers past the limit and Infinity (FR-1.4, NFR-8)', () => {
  test('setLongTimeout fires after 3e9 ms, not after 1 ms, in chunks no shorter than the timer limit', () => {
    jest.useFakeTimers();
    const arm = jest.spyOn(globalThis, 'setTimeout');
    const fire = jest.fn();
    setLongTimeout(fire, BEYOND_TIMER_LIMIT_MS);
    jest.advanceTimersByTime(BEYOND_TIMER_LIMIT_MS - 1);
    expect(fire).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    expect(arm.mock.calls.map(([, delay]) => delay)).toEqual([MAX_TIMER_DELAY_MS, BEYOND_TIMER_LIMIT_MS - MAX_TIMER_DELAY_MS]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('setLongTimeout with Infinity arms nothing; cancel drops a pending one', () => {
    jest.useFakeTimers();
    const fire = jest.fn();
    setLongTimeout(fire, Infinity);
    expect(jest.getTimerCount()).toBe(0);
    setLongTimeout(fire, 10).cancel();
    jest.advanceTimersByTime(100);
    expect(fire).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(0);
  });

  test.each([Infinity, BEYOND_TIMER_LIMIT_MS])('a queue with waitWarningMs %d does not re-arm a timer while a task waits', async (waitWarningMs) => {
    jest.useFakeTimers();
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs, slowWaitMs: Infinity });
    const gate = deferred();
    const holding = queue.run('k', () => gate.promise);
    await drain();
    const arm = jest.spyOn(globalThis, 'setTimeout');
    const waiting = queue.run('k', () => 'ran');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(arm.mock.calls.length).toBe(waitWarningMs === Infinity ? 0 : 1);
    expect(logger.entries).toEqual([]);
    gate.resolve();
    await expect(Promise.all([holding, waiting])).resolves.toEqual([undefined, 'ran']);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a queue with waitWarningMs 3e9 still warns, once, after 3e9 ms', async () => {
    jest.useFakeTimers();
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs: BEYOND_TIMER_LIMIT_MS });
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    await drain();
    const waiting = queue.run('k', () => undefined);
    await jest.advanceTimersByTimeAsync(BEYOND_TIMER_LIMIT_MS - 1);
    expect(logger.of('warn')).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(logger.of('warn')).toHaveLength(1);
    gate.resolve();
    await waiting;
  });

  describe('a refresh token store with a very long debounce', () => {
    let dir: string;
    beforeEach(() => {
      dir = makeTempDir();
    });
    afterEach(() => removeTempDir(dir));

    test.each([Infinity, BEYOND_TIMER_LIMIT_MS])('saveDebounceMs %d arms no busy timer; nothing saves early; flush saves', async (saveDebounceMs) => {
      useFakeTimersWithRealIo();
      const service = await createService(dir);
      const file = path.join(dir, 'tokens.enc');
      const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600, saveDebounceMs, logger: recordingStoreLogger() }, service, file);
      const writes = jest.spyOn(tokens, 'saveToStorage');
      const arm = jest.spyOn(globalThis, 'setTimeout');
      const token = await tokens.generateToken({ clientId: 'c', userId: 'u', scope: 's' });
      await jest.advanceTimersByTimeAsync(10_000);
      expect(arm.mock.calls.length).toBe(saveDebounceMs === Infinity ? 0 : 1);
      expect(writes).not.toHaveBeenCalled();
      await tokens.flush();
      expect((await readStoreFile(service, file))!.tokens).toEqual([expect.objectContaining({ token })]);
      expect(jest.getTimerCount()).toBe(0);
    });

    test('saveDebounceMs 3e9 saves after 3e9 ms, not before', async () => {
      useFakeTimersWithRealIo();
      const service = await createService(dir);
      const tokens = new PersistentRefreshTokenStore(
        { expirySeconds: 1e9, saveDebounceMs: BEYOND_TIMER_LIMIT_MS, logger: recordingStoreLogger() }, service, path.join(dir, 'tokens.enc'),
      );
      // Every debounced save goes through saveToStorage (the original's contract), whatever the engine then writes.
      const writes = jest.spyOn(tokens, 'saveToStorage');
      await tokens.generateToken({ clientId: 'c', userId: 'u', scope: 's' });
      await jest.advanceTimersByTimeAsync(BEYOND_TIMER_LIMIT_MS - 1);
      expect(writes).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(1);
      expect(writes).toHaveBeenCalledTimes(1);
      await tokens.flush();
    });
  });
});
