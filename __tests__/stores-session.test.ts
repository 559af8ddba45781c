import fs from 'node:fs';
import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import {
  createService, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, settleBackgroundSaves, storeWriteCounter, switchableWriteFault, useFakeTimersWithRealIo,
} from './helpers/store-harness.js';

const HOUR = 60 * 60 * 1000;
let dir: string;
let file: string;
let service: EncryptionService;

beforeEach(async () => {
  dir = makeTempDir();
  file = path.join(dir, 'oauth_sessions.enc');
  service = await createService(dir);
});

afterEach(async () => {
  await service.waitForPendingWrites();
  jest.useRealTimers();
  removeTempDir(dir);
});

const sessionIdsOnDisk = async (): Promise<string[]> => {
  const document = await readStoreFile(service, file);
  return (document?.sessions as { sessionId: string }[]).map((session) => session.sessionId);
};

describe('PersistentSessionStore: sessions (FR-3.1)', () => {
  test('a session has a 64-hex-digit id, the user, and expires after 24 h by default', () => {
    useFakeTimersWithRealIo();
    jest.setSystemTime(1_700_000_000_000);
    const store = new PersistentSessionStore(service, file, { logger: recordingStoreLogger() });
    const session = store.createSession('user-1');
    expect(session.sessionId).toMatch(/^[0-9a-f]{64}$/);
    expect(session).toEqual({ sessionId: session.sessionId, userId: 'user-1', createdAt: 1_700_000_000_000, expiresAt: 1_700_000_000_000 + 24 * HOUR });
    expect(store.getSession(session.sessionId)).toEqual(session);
  });

  test('createSession returns at once and the session reaches disk in the background, without flush (behaviour 1)', async () => {
    const store = new PersistentSessionStore(service, file);
    const session = store.createSession('user-1');
    expect(fs.existsSync(file)).toBe(false);
    expect(service.hasPendingWrites()).toBe(true);
    await service.waitForPendingWrites();
    expect(await readStoreFile(service, file)).toEqual({ version: 1, sessions: [session] });
  });

  test('deleteSession persists the removal in the background', async () => {
    const store = new PersistentSessionStore(service, file);
    const kept = store.createSession('user-1');
    const gone = store.createSession('user-2');
    store.deleteSession(gone.sessionId);
    await settleBackgroundSaves(service);
    expect(await sessionIdsOnDisk()).toEqual([kept.sessionId]);
    expect(store.getSession(gone.sessionId)).toBeNull();
  });

  test('getSession of an expired session removes it, returns null and persists the removal', async () => {
    useFakeTimersWithRealIo();
    const store = new PersistentSessionStore(service, file, { sessionExpiryMs: HOUR });
    const session = store.createSession('user-1');
    await store.flush();
    jest.advanceTimersByTime(HOUR - 1);
    expect(store.getSession(session.sessionId)).not.toBeNull();
    expect(store.getMetrics()).toEqual({ count: 1, expiredCount: 0 });
    jest.advanceTimersByTime(1);
    expect(store.getMetrics()).toEqual({ count: 1, expiredCount: 1 });
    expect(store.getSession(session.sessionId)).toBeNull();
    expect(store.getMetrics()).toEqual({ count: 0, expiredCount: 0 });
    await settleBackgroundSaves(service);
    expect(await sessionIdsOnDisk()).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('the store keeps at most maxSessions, dropping the oldest (behaviour 7)', async () => {
    const store = new PersistentSessionStore(service, file, { maxSessions: 3 });
    const sessions = Array.from({ length: 5 }, (_, index) => store.createSession(`user-${index}`));
    expect(store.getMetrics().count).toBe(3);
    expect(sessions.map((session) => store.getSession(session.sessionId) !== null)).toEqual([false, false, true, true, true]);
    await store.flush();
    expect(await sessionIdsOnDisk()).toEqual(sessions.slice(2).map((session) => session.sessionId));
  });

  test('the default maxSessions is 100', () => {
    const store = new PersistentSessionStore(service, file, { logger: recordingStoreLogger() });
    const first = store.createSession('first');
    for (let index = 0; index < 100; index += 1) store.createSession(`user-${index}`);
    expect(store.getMetrics().count).toBe(100);
    expect(store.getSession(first.sessionId)).toBeNull();
    return store.flush();
  });

  test('returned sessions are copies: changing one does not change the store', async () => {
    const store = new PersistentSessionStore(service, file);
    const session = store.createSession('user-1');
    session.userId = 'someone-else';
    expect(store.getSession(session.sessionId)?.userId).toBe('user-1');
    await store.flush();
  });
});

describe('PersistentSessionStore: saves collapse and never overlap (behaviour 2, FR-1)', () => {
  test('a burst of 1,000 createSession calls then flush() costs at most two writes, and the file holds all 1,000', async () => {
    const counter = storeWriteCounter(file);
    const counted = await createService(dir, counter.seam);
    const store = new PersistentSessionStore(counted, file, { maxSessions: 1000 });
    const sessions = Array.from({ length: 1000 }, (_, index) => store.createSession(`user-${index}`));
    await store.flush();
    // Two before the merge engine; now often one, since a save takes the pending changes once it holds the lock.
    expect(counter.writes()).toBeGreaterThanOrEqual(1);
    expect(counter.writes()).toBeLessThanOrEqual(2);
    expect(await sessionIdsOnDisk()).toEqual(sessions.map((session) => session.sessionId));
  });

  test('at most one write of the store is in flight at any moment', async () => {
    const counter = storeWriteCounter(file);
    const counted = await createService(dir, counter.seam);
    const store = new PersistentSessionStore(counted, file, { maxSessions: 1000 });
    for (let index = 0; index < 200; index += 1) {
      const session = store.createSession(`user-${index}`);
      if (index % 3 === 0) store.deleteSession(session.sessionId);
      // Let some writes start and finish between changes.
      if (index % 50 === 0) await counted.waitForPendingWrites();
    }
    await store.flush();
    expect(counter.writes()).toBeGreaterThan(1);
    expect(counter.mostInFlight()).toBe(1);
  });

  test('flush() with nothing changed writes only when the file is missing (FR-3.1: a flushed store leaves its file)', async () => {
    const counter = storeWriteCounter(file);
    const counted = await createService(dir, counter.seam);
    const store = new PersistentSessionStore(counted, file);
    await store.flush();
    expect(counter.writes()).toBe(1);
    expect(await readStoreFile(service, file)).toEqual({ version: 1, sessions: [] });
    const session = store.createSession('user-1');
    await store.flush();
    await store.flush();
    expect(counter.writes()).toBe(2);
    expect(await readStoreFile(service, file)).toEqual({ version: 1, sessions: [session] });
  });
});

describe('PersistentSessionStore: failed background saves (behaviour 3, NFR-8)', () => {
  test('a failing background save is logged without secrets and never becomes an unhandled rejection', async () => {
    const fault = switchableWriteFault();
    const faulty = await createService(dir, fault.seam);
    const logger = recordingStoreLogger();
    const store = new PersistentSessionStore(faulty, file, { logger });
    fault.failWith('ENOSPC');
    // Jest fails a test on any unhandled rejection: reaching the end proves there was none.
    const session = store.createSession('user-secret-name');
    await settleBackgroundSaves(faulty);
    expect(logger.entries).toEqual([
      { level: 'error', fields: expect.objectContaining({ store: 'sessions', filePath: file, code: 'ENOSPC' }), message: expect.any(String) },
    ]);
    expect(logger.text()).not.toContain(session.sessionId);
    expect(logger.text()).not.toContain('user-secret-name');
  });

  test('flush rejects with the write error while the disk fails, logs once per failed save, and succeeds once it heals', async () => {
    const fault = switchableWriteFault();
    const faulty = await createService(dir, fault.seam);
    const logger = recordingStoreLogger();
    const store = new PersistentSessionStore(faulty, file, { logger });
    fault.failWith('ENOSPC');
    const sessions = Array.from({ length: 20 }, (_, index) => store.createSession(`user-${index}`));
    // This flush joins the save queued behind the running one.
    await expect(store.flush()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(logger.entries).toHaveLength(2);
    await expect(store.flush()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fs.existsSync(file)).toBe(false);

    fault.failWith(undefined);
    await store.flush();
    expect(await sessionIdsOnDisk()).toEqual(sessions.map((session) => session.sessionId));
    expect(logger.entries).toHaveLength(2);
  });
});

describe('PersistentSessionStore: flush (behaviour 4, FR-4)', () => {
  test('flush waits for the save already running and then saves the changes made since', async () => {
    const store = new PersistentSessionStore(service, file);
    const first = store.createSession('user-1');
    const second = store.createSession('user-2');
    const flushing = store.flush();
    const third = store.createSession('user-3');
    await flushing;
    const onDisk = await sessionIdsOnDisk();
    expect(onDisk).toEqual(expect.arrayContaining([first.sessionId, second.sessionId]));
    await store.flush();
    expect(await sessionIdsOnDisk()).toEqual([first, second, third].map((session) => session.sessionId));
  });
});

describe('PersistentSessionStore: loadFromStorage (behaviour 5)', () => {
  test('a restart loads every live session and drops the expired ones', async () => {
    useFakeTimersWithRealIo();
    const store = new PersistentSessionStore(service, file, { sessionExpiryMs: HOUR });
    const old = store.createSession('user-old');
    jest.advanceTimersByTime(HOUR / 2);
    const fresh = store.createSession('user-fresh');
    await store.flush();
    jest.advanceTimersByTime(HOUR / 2);

    const restarted = await createService(dir);
    const reloaded = new PersistentSessionStore(restarted, file, { sessionExpiryMs: HOUR });
    await reloaded.loadFromStorage();
    expect(reloaded.getMetrics()).toEqual({ count: 1, expiredCount: 0 });
    expect(reloaded.getSession(fresh.sessionId)).toEqual(fresh);
    expect(reloaded.getSession(old.sessionId)).toBeNull();
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a load keeps the newest maxSessions sessions', async () => {
    const store = new PersistentSessionStore(service, file, { maxSessions: 5 });
    const sessions = Array.from({ length: 5 }, (_, index) => store.createSession(`user-${index}`));
    await store.flush();
    const smaller = new PersistentSessionStore(service, file, { maxSessions: 2 });
    await smaller.loadFromStorage();
    expect(smaller.getMetrics().count).toBe(2);
    expect(smaller.getSession(sessions[4]!.sessionId)).not.toBeNull();
    expect(smaller.getSession(sessions[3]!.sessionId)).not.toBeNull();
  });
});
