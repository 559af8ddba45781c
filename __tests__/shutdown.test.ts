import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { installShutdownHandlers, shutdown, type FlushableStore } from '../lib/stores/shutdown.js';
import {
  createService, deferred, drain, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, switchableWriteFault, track,
  useFakeTimersWithRealIo,
} from './helpers/store-harness.js';

let dir: string;
let uninstall: (() => void) | undefined;

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(() => {
  uninstall?.();
  uninstall = undefined;
  jest.useRealTimers();
  removeTempDir(dir);
});

function openStores(service: EncryptionService): [PersistentSessionStore, PersistentRefreshTokenStore, PersistentClientStore] {
  const logger = recordingStoreLogger();
  return [
    new PersistentSessionStore(service, path.join(dir, 'oauth_sessions.enc'), { logger }),
    new PersistentRefreshTokenStore({ expirySeconds: 3600, logger }, service, path.join(dir, 'oauth_refresh_tokens.enc')),
    new PersistentClientStore({ allowedRedirectUris: ['*'], logger }, service, path.join(dir, 'oauth_clients.enc')),
  ];
}

/** A stand-in for a store that records flushes and settles them on demand. */
function heldStore(): FlushableStore & { readonly flushes: number; release(error?: Error): void } {
  const gate = deferred();
  let flushes = 0;
  return {
    get flushes() {
      return flushes;
    },
    flush: () => {
      flushes += 1;
      return gate.promise;
    },
    release: (error) => (error === undefined ? gate.resolve() : gate.reject(error)),
  };
}

const idleService = { waitForPendingWrites: () => Promise.resolve() };

describe('shutdown() (behaviour 8, FR-4)', () => {
  test('flushes every store, cancels the token debounce, and waits for pending writes; no timer is left (behaviour 9)', async () => {
    useFakeTimersWithRealIo();
    const service = await createService(dir);
    const [sessions, tokens, clients] = openStores(service);
    const session = sessions.createSession('user-1');
    const token = await tokens.generateToken({ clientId: 'c', userId: 'user-1', scope: 'openid' });
    const registering = clients.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/cb'] });
    expect(jest.getTimerCount()).toBe(1);
    await shutdown([sessions, tokens, clients], service);
    const { client } = await registering;
    expect(service.hasPendingWrites()).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    expect((await readStoreFile(service, path.join(dir, 'oauth_sessions.enc')))!.sessions).toEqual([session]);
    expect((await readStoreFile(service, path.join(dir, 'oauth_refresh_tokens.enc')))!.tokens).toEqual([expect.objectContaining({ token })]);
    expect((await readStoreFile(service, path.join(dir, 'oauth_clients.enc')))!.clients).toEqual([client]);
  });

  test('rejects with ERR_STORE_FLUSH carrying the failed store\'s error, after the other stores are on disk', async () => {
    const service = await createService(dir);
    const [sessions] = openStores(service);
    const failing = heldStore();
    sessions.createSession('user-1');
    const stopping = shutdown([failing, sessions], service);
    failing.release(Object.assign(new Error('disk full'), { code: 'ENOSPC' }));
    const error = await stopping.then(() => undefined, (reason: unknown) => reason);
    expect(error).toMatchObject({ name: 'StoreFlushError', code: 'ERR_STORE_FLUSH', errors: [expect.objectContaining({ code: 'ENOSPC' })] });
    expect((await readStoreFile(service, path.join(dir, 'oauth_sessions.enc')))!.sessions).toHaveLength(1);
  });

  test('waits for writes that are not any store\'s (FR-4.2)', async () => {
    const gate = deferred();
    const service = await createService(dir);
    const other = service.withFileLock(path.join(dir, 'other'), () => gate.promise);
    let isDone = false;
    const stopping = shutdown([], service).then(() => (isDone = true));
    await drain();
    expect(isDone).toBe(false);
    gate.resolve();
    await Promise.all([other, stopping]);
    expect(isDone).toBe(true);
  });
});

describe('installShutdownHandlers() (behaviour 8)', () => {
  test('SIGTERM runs shutdown and exits 0 once everything is on disk; uninstall removes the handlers', async () => {
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    const store = heldStore();
    const exit = jest.fn();
    uninstall = installShutdownHandlers([store], idleService, { exit });
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    process.emit('SIGTERM', 'SIGTERM');
    expect(store.flushes).toBe(1);
    await drain();
    expect(exit).not.toHaveBeenCalled();
    store.release();
    await drain();
    // exit comes a macrotask after the flush, so a warning emitted on the next tick is delivered first.
    await drain();
    expect(exit.mock.calls).toEqual([[0]]);
    uninstall();
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    expect(process.listenerCount('SIGINT')).toBe(before.int);
  });

  test('SIGINT works the same; a second signal during shutdown is ignored', async () => {
    const store = heldStore();
    const exit = jest.fn();
    uninstall = installShutdownHandlers([store], idleService, { exit });
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGINT', 'SIGINT');
    store.release();
    await drain();
    await drain();
    expect(store.flushes).toBe(1);
    expect(exit.mock.calls).toEqual([[0]]);
  });

  test('exits 1 and logs the codes when a store cannot be written', async () => {
    const store = heldStore();
    const exit = jest.fn();
    const logger = recordingStoreLogger();
    uninstall = installShutdownHandlers([store], idleService, { exit, logger });
    process.emit('SIGTERM', 'SIGTERM');
    store.release(Object.assign(new Error('no space'), { code: 'ENOSPC' }));
    await drain();
    await drain();
    expect(exit.mock.calls).toEqual([[1]]);
    expect(logger.entries).toEqual([
      { level: 'error', fields: expect.objectContaining({ signal: 'SIGTERM', code: 'ERR_STORE_FLUSH', causes: [expect.objectContaining({ code: 'ENOSPC' })] }), message: expect.any(String) },
    ]);
  });

  test('exits 1 with ERR_SHUTDOWN_TIMEOUT when a flush hangs past timeoutMs, and leaves no timer', async () => {
    jest.useFakeTimers();
    const store = heldStore();
    const exit = jest.fn();
    const logger = recordingStoreLogger();
    uninstall = installShutdownHandlers([store], idleService, { exit, logger, timeoutMs: 3000 });
    process.emit('SIGTERM', 'SIGTERM');
    await jest.advanceTimersByTimeAsync(2999);
    expect(exit).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    // exit waits for a macrotask (setImmediate), so the warning goes out first.
    expect(exit).not.toHaveBeenCalled();
    await jest.runAllTimersAsync();
    expect(exit.mock.calls).toEqual([[1]]);
    expect(logger.entries[0]!.fields).toMatchObject({ code: 'ERR_SHUTDOWN_TIMEOUT' });
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a clean shutdown clears its timeout timer', async () => {
    jest.useFakeTimers();
    const exit = jest.fn();
    uninstall = installShutdownHandlers([], idleService, { exit });
    process.emit('SIGTERM', 'SIGTERM');
    await jest.advanceTimersByTimeAsync(0);
    expect(exit.mock.calls).toEqual([[0]]);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('close() and ERR_STORE_CLOSED (FR-4.1)', () => {
  test('close() saves what is pending; afterwards every change is refused with ERR_STORE_CLOSED and reads keep working', async () => {
    const service = await createService(dir);
    const [sessions, tokens, clients] = openStores(service);
    const session = sessions.createSession('user-1');
    expect(sessions.hasUnsavedChanges()).toBe(true);
    const token = await tokens.generateToken({ clientId: 'c', userId: 'user-1', scope: 'openid' });
    const { client } = await clients.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/cb'] });
    expect(tokens.hasUnsavedChanges()).toBe(true);
    await Promise.all([sessions.close(), tokens.close(), clients.close()]);
    expect([sessions.hasUnsavedChanges(), tokens.hasUnsavedChanges(), clients.hasUnsavedChanges()]).toEqual([false, false, false]);

    const closed = { code: 'ERR_STORE_CLOSED', name: 'StoreClosedError' };
    expect(() => sessions.createSession('user-2')).toThrow(expect.objectContaining({ ...closed, store: 'sessions', operation: 'createSession' }));
    expect(() => sessions.deleteSession(session.sessionId)).toThrow(expect.objectContaining(closed));
    await expect(tokens.generateToken({ clientId: 'c', userId: 'u', scope: '' })).rejects.toMatchObject({ ...closed, operation: 'generateToken' });
    await expect(tokens.rotateToken(token, 'c')).rejects.toMatchObject(closed);
    await expect(tokens.revokeToken(token)).rejects.toMatchObject(closed);
    await expect(tokens.revokeAllForClient('c')).rejects.toMatchObject(closed);
    await expect(tokens.cleanup()).rejects.toMatchObject(closed);
    await expect(clients.registerClient({ client_name: 'B', redirect_uris: ['https://b.example/cb'] })).rejects.toMatchObject(closed);
    await expect(clients.deleteClient(client!.client_id)).rejects.toMatchObject(closed);
    await expect(sessions.loadFromStorage()).rejects.toMatchObject(closed);

    expect(sessions.getSession(session.sessionId)).toEqual(session);
    expect((await tokens.validateToken(token, 'c')).valid).toBe(true);
    expect(await clients.getClient(client!.client_id)).toEqual(client);
    expect([sessions.hasUnsavedChanges(), tokens.hasUnsavedChanges(), clients.hasUnsavedChanges()]).toEqual([false, false, false]);
    expect((await readStoreFile(service, path.join(dir, 'oauth_sessions.enc')))!.sessions).toEqual([session]);
    expect((await readStoreFile(service, path.join(dir, 'oauth_refresh_tokens.enc')))!.tokens).toEqual([expect.objectContaining({ token })]);
  });

  test('a closed session store answers null for an expired session without removing it (nothing to save after close)', async () => {
    useFakeTimersWithRealIo();
    const service = await createService(dir);
    const [sessions] = openStores(service);
    const session = sessions.createSession('user-1');
    await sessions.close();
    jest.setSystemTime(session.expiresAt + 1);
    expect(sessions.getSession(session.sessionId)).toBeNull();
    expect(sessions.hasUnsavedChanges()).toBe(false);
    expect(sessions.getMetrics()).toEqual({ count: 1, expiredCount: 1 });
  });

  test('a failed close() leaves the changes unsaved and a second close() retries them', async () => {
    const fault = switchableWriteFault();
    const service = await createService(dir, fault.seam);
    const [sessions] = openStores(service);
    const session = sessions.createSession('user-1');
    fault.failWith('EIO');
    await expect(sessions.close()).rejects.toMatchObject({ code: 'EIO' });
    expect(sessions.hasUnsavedChanges()).toBe(true);
    fault.failWith(undefined);
    await sessions.close();
    expect(sessions.hasUnsavedChanges()).toBe(false);
    expect((await readStoreFile(service, path.join(dir, 'oauth_sessions.enc')))!.sessions).toEqual([session]);
  });
});

describe('shutdown() tells the truth (FR-4.2)', () => {
  test('closes the stores: a change made after shutdown began is refused, never acknowledged and dropped', async () => {
    const service = await createService(dir);
    const [sessions, tokens, clients] = openStores(service);
    const before = sessions.createSession('before');
    const stopping = shutdown([sessions, tokens, clients], service);
    expect(() => sessions.createSession('after')).toThrow(expect.objectContaining({ code: 'ERR_STORE_CLOSED' }));
    await expect(tokens.generateToken({ clientId: 'c', userId: 'after', scope: '' })).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' });
    await stopping;
    expect((await readStoreFile(service, path.join(dir, 'oauth_sessions.enc')))!.sessions).toEqual([before]);
  });

  test('flushes again, until clean, a store without close() that is changed during its flush (no waiting for an idle moment)', async () => {
    let dirty = 3;
    const flush = jest.fn(async () => {
      await drain();
      dirty -= 1;
    });
    const store: FlushableStore = { flush, hasUnsavedChanges: () => dirty > 0 };
    await shutdown([store], idleService);
    expect(flush).toHaveBeenCalledTimes(3);
  });

  test('a store whose save fails is reported with ERR_STORE_FLUSH and not retried in a loop', async () => {
    const flush = jest.fn(() => Promise.reject(Object.assign(new Error('disk'), { code: 'EIO' })));
    const store: FlushableStore = { flush, hasUnsavedChanges: () => true };
    await expect(shutdown([store], idleService)).rejects.toMatchObject({ code: 'ERR_STORE_FLUSH', errors: [expect.objectContaining({ code: 'EIO' })] });
    expect(flush).toHaveBeenCalledTimes(1);
  });

  test('a store that never gets clean is bounded by timeoutMs: ERR_SHUTDOWN_TIMEOUT, no timer left', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const flush = jest.fn(() => Promise.resolve());
    const store: FlushableStore = { flush, hasUnsavedChanges: () => true };
    const stopping = shutdown([store], idleService, { timeoutMs: 50 });
    const outcome = stopping.then(() => undefined, (error: unknown) => error);
    await drain();
    await jest.advanceTimersByTimeAsync(50);
    expect(await outcome).toMatchObject({ code: 'ERR_SHUTDOWN_TIMEOUT', timeoutMs: 50 });
    expect(jest.getTimerCount()).toBe(0);
    // The loop ends with the timeout: no flush runs on in the background.
    await drain();
    const flushesAtTimeout = flush.mock.calls.length;
    await drain();
    await drain();
    expect(flush.mock.calls.length).toBe(flushesAtTimeout);
  });

  test.each([Infinity, 3e9])('with timeoutMs %d it waits as long as the flush takes, then resolves (issue 10, defect 2)', async (timeoutMs) => {
    jest.useFakeTimers();
    const store = heldStore();
    const stopping = track(shutdown([store], idleService, { timeoutMs }));
    await jest.advanceTimersByTimeAsync(2 ** 31);
    expect(stopping.isSettled).toBe(false);
    store.release();
    await jest.advanceTimersByTimeAsync(0);
    expect(stopping.outcome).toBe('fulfilled');
    expect(jest.getTimerCount()).toBe(0);
  });

  test.each([Infinity, 3e9])('installShutdownHandlers with timeoutMs %d puts 2,000 tokens on disk and exits 0 (was: exit 1, 0 on disk)', async (timeoutMs) => {
    useFakeTimersWithRealIo();
    const service = await createService(dir);
    const [, tokens] = openStores(service);
    const issued = await Promise.all(Array.from({ length: 2000 }, (_, i) => tokens.generateToken({ clientId: 'c', userId: `u${i}`, scope: '' })));
    const exited = deferred<number>();
    uninstall = installShutdownHandlers([tokens], service, { exit: (code) => exited.resolve(code), timeoutMs, logger: recordingStoreLogger() });
    process.emit('SIGTERM', 'SIGTERM');
    expect(await exited.promise).toBe(0);
    const onDisk = (await readStoreFile(service, path.join(dir, 'oauth_refresh_tokens.enc')))!.tokens as { token: string }[];
    expect(onDisk.map((record) => record.token).sort()).toEqual([...issued].sort());
  });

  test('the handler exits 1 when a store still holds unsaved changes at exit, even though shutdown() resolved', async () => {
    const hasUnsavedChanges = jest.fn().mockReturnValueOnce(false).mockReturnValue(true);
    const store: FlushableStore = { flush: () => Promise.resolve(), hasUnsavedChanges };
    const exit = jest.fn();
    const logger = recordingStoreLogger();
    uninstall = installShutdownHandlers([store], idleService, { exit, logger });
    process.emit('SIGTERM', 'SIGTERM');
    await drain();
    await drain();
    expect(exit.mock.calls).toEqual([[1]]);
    expect(logger.entries).toEqual([{ level: 'error', fields: expect.objectContaining({ code: 'ERR_STORE_FLUSH', unsaved: 1 }), message: expect.any(String) }]);
  });
});
