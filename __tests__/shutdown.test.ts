import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { installShutdownHandlers, shutdown, type FlushableStore } from '../lib/stores/shutdown.js';
import {
  createService, deferred, drain, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, useFakeTimersWithRealIo,
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
