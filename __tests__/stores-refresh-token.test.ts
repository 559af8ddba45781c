import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentRefreshTokenStore, type RefreshToken } from '../lib/stores/refresh-token-store.js';
import {
  createService, drain, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, settleBackgroundSaves, storeWriteCounter, switchableWriteFault,
  useFakeTimersWithRealIo,
} from './helpers/store-harness.js';

let dir: string;
let file: string;
let service: EncryptionService;

beforeEach(async () => {
  dir = makeTempDir();
  file = path.join(dir, 'oauth_refresh_tokens.enc');
  service = await createService(dir);
  useFakeTimersWithRealIo();
});

afterEach(async () => {
  await service.waitForPendingWrites();
  jest.useRealTimers();
  removeTempDir(dir);
});

const tokensOnDisk = async (): Promise<string[]> => {
  const document = await readStoreFile(service, file);
  return document === null ? [] : (document.tokens as RefreshToken[]).map((record) => record.token);
};

const newStore = (config: Partial<ConstructorParameters<typeof PersistentRefreshTokenStore>[0]> = {}): PersistentRefreshTokenStore =>
  new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: recordingStoreLogger(), ...config }, service, file);

const grant = { clientId: 'client-a', userId: 'user-1', scope: 'openid' };

describe('PersistentRefreshTokenStore: tokens (FR-3.1)', () => {
  test('a token is 43 base64url characters, as in the original, and validates for its client with its data', async () => {
    jest.setSystemTime(1_700_000_000_000);
    const store = newStore();
    const token = await store.generateToken(grant);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.validateToken(token, 'client-a')).toEqual({
      valid: true,
      tokenData: { token, client_id: 'client-a', user_id: 'user-1', scope: 'openid', created_at: 1_700_000_000_000, expires_at: 1_700_003_600_000, rotated: false },
    });
    await store.flush();
  });

  test('an unknown token, another client, or an expired token is invalid_grant; the expired one is removed, as the original does (FR-3.1)', async () => {
    const store = newStore({ expirySeconds: 60 });
    const token = await store.generateToken(grant);
    expect(await store.validateToken('nope', 'client-a')).toEqual({ valid: false, error: 'invalid_grant' });
    expect(await store.validateToken(token, 'client-b')).toEqual({ valid: false, error: 'invalid_grant' });
    jest.advanceTimersByTime(60_000);
    expect(await store.validateToken(token, 'client-a')).toEqual({ valid: false, error: 'invalid_grant' });
    expect(store.getMetrics()).toEqual({ count: 0, expiredCount: 0, rotatedCount: 0 });
    await store.flush();
    expect(await tokensOnDisk()).toEqual([]);
  });

  test('revokeToken and revokeAllForClient remove tokens', async () => {
    const store = newStore();
    const a1 = await store.generateToken(grant);
    const a2 = await store.generateToken(grant);
    const b1 = await store.generateToken({ ...grant, clientId: 'client-b' });
    await store.revokeToken(a1);
    expect((await store.validateToken(a1, 'client-a')).valid).toBe(false);
    await store.revokeAllForClient('client-a');
    expect((await store.validateToken(a2, 'client-a')).valid).toBe(false);
    await store.flush();
    expect(await tokensOnDisk()).toEqual([b1]);
  });

  test('rotating an expired token answers null and removes it, as the original does (FR-3.1)', async () => {
    const store = newStore({ expirySeconds: 60 });
    const token = await store.generateToken(grant);
    jest.advanceTimersByTime(60_000);
    expect(await store.rotateToken(token, 'client-a')).toBeNull();
    expect(store.getMetrics()).toEqual({ count: 0, expiredCount: 0, rotatedCount: 0 });
    expect(await tokensOnDisk()).toEqual([]);
  });

  test('cleanup removes expired and rotated tokens and says how many', async () => {
    const store = newStore({ expirySeconds: 60 });
    const rotated = await store.generateToken(grant);
    await store.rotateToken(rotated, 'client-a');
    jest.advanceTimersByTime(30_000);
    const live = await store.generateToken(grant);
    jest.advanceTimersByTime(30_000);
    expect(store.getMetrics()).toEqual({ count: 3, expiredCount: 2, rotatedCount: 1 });
    expect(await store.cleanup()).toBe(2);
    await store.flush();
    expect(await tokensOnDisk()).toEqual([live]);
  });
});

describe('PersistentRefreshTokenStore: debounced saves (behaviours 1, 2, 9)', () => {
  test('three quick generateToken calls cause exactly one saveToStorage, 1 s after the last', async () => {
    const store = newStore();
    const saves = jest.spyOn(store, 'saveToStorage');
    const tokens = [await store.generateToken(grant)];
    jest.advanceTimersByTime(300);
    tokens.push(await store.generateToken(grant));
    jest.advanceTimersByTime(300);
    tokens.push(await store.generateToken(grant));
    jest.advanceTimersByTime(999);
    expect(saves).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(saves).toHaveBeenCalledTimes(1);
    await saves.mock.results[0]!.value;
    expect(await tokensOnDisk()).toEqual(tokens);
    jest.advanceTimersByTime(10_000);
    expect(saves).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a steady stream of changes still saves at least every 5 s', async () => {
    const store = newStore();
    const save = store.saveToStorage.bind(store);
    const savedAt: number[] = [];
    jest.spyOn(store, 'saveToStorage').mockImplementation(() => {
      savedAt.push(Date.now() - start);
      return save();
    });
    const start = Date.now();
    for (let elapsed = 0; elapsed < 12_000; elapsed += 500) {
      await store.generateToken(grant);
      jest.advanceTimersByTime(500);
    }
    jest.advanceTimersByTime(1000);
    expect(savedAt).toEqual([5000, 10_000, 12_500]);
    await store.flush();
  });

  test('a custom saveDebounceMs is honoured', async () => {
    const store = newStore({ saveDebounceMs: 200 });
    const saves = jest.spyOn(store, 'saveToStorage');
    await store.generateToken(grant);
    jest.advanceTimersByTime(199);
    expect(saves).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(saves).toHaveBeenCalledTimes(1);
    await store.flush();
  });

  test('the debounce timer is referenced, as the original timer was: a pending save keeps the process alive until it ran (FR-4)', async () => {
    const arms = jest.spyOn(globalThis, 'setTimeout');
    const store = newStore();
    await store.generateToken(grant);
    const timer = arms.mock.results.at(-1)!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(true);
    await store.flush();
  });

  test('1,000 token changes between two debounce windows cost at most two writes', async () => {
    const counter = storeWriteCounter(file);
    const counted = await createService(dir, counter.seam);
    const store = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: recordingStoreLogger() }, counted, file);
    const tokens = await Promise.all(Array.from({ length: 1000 }, (_, index) => store.generateToken({ ...grant, userId: `user-${index}` })));
    jest.advanceTimersByTime(1000);
    await store.flush();
    expect(counter.writes()).toBeLessThanOrEqual(2);
    expect(await tokensOnDisk()).toEqual(tokens);
  });
});

describe('PersistentRefreshTokenStore: flush (behaviour 4, FR-4)', () => {
  test('flush cancels the pending debounce, saves through saveToStorage, and leaves no timer', async () => {
    const store = newStore();
    const saves = jest.spyOn(store, 'saveToStorage');
    const token = await store.generateToken(grant);
    expect(jest.getTimerCount()).toBe(1);
    await store.flush();
    expect(saves).toHaveBeenCalledTimes(1);
    expect(await tokensOnDisk()).toEqual([token]);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10_000);
    expect(saves).toHaveBeenCalledTimes(1);
  });

  test('a change after flush is debounced again', async () => {
    const store = newStore();
    await store.generateToken(grant);
    await store.flush();
    const saves = jest.spyOn(store, 'saveToStorage');
    const later = await store.generateToken(grant);
    jest.advanceTimersByTime(1000);
    expect(saves).toHaveBeenCalledTimes(1);
    await saves.mock.results[0]!.value;
    expect(await tokensOnDisk()).toContain(later);
  });
});

describe('PersistentRefreshTokenStore: failed debounced saves (behaviour 3, NFR-8)', () => {
  test('a failing debounced save is logged without the token; flush rejects until the disk heals', async () => {
    const fault = switchableWriteFault();
    const faulty = await createService(dir, fault.seam);
    const logger = recordingStoreLogger();
    const store = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger }, faulty, file);
    fault.failWith('EIO');
    const token = await store.generateToken(grant);
    jest.advanceTimersByTime(1000);
    await settleBackgroundSaves(faulty);
    expect(logger.entries).toEqual([
      { level: 'error', fields: expect.objectContaining({ store: 'refresh-tokens', code: 'EIO' }), message: expect.any(String) },
    ]);
    expect(logger.text()).not.toContain(token);
    await expect(store.flush()).rejects.toMatchObject({ code: 'EIO' });
    fault.failWith(undefined);
    await store.flush();
    expect(await tokensOnDisk()).toEqual([token]);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('PersistentRefreshTokenStore: rotation (behaviour 6)', () => {
  test('rotateToken issues a new token for the same grant and the old one no longer validates', async () => {
    const store = newStore();
    const old = await store.generateToken(grant);
    const next = await store.rotateToken(old, 'client-a');
    expect(next).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.validateToken(old, 'client-a')).toEqual({ valid: false, error: 'invalid_grant' });
    expect((await store.validateToken(next!, 'client-a')).tokenData).toMatchObject({ client_id: 'client-a', user_id: 'user-1', scope: 'openid', rotated: false });
    expect(store.getMetrics()).toMatchObject({ count: 2, rotatedCount: 1 });
    await store.flush();
    const onDisk = (await readStoreFile(service, file))!.tokens as RefreshToken[];
    expect(onDisk.find((record) => record.token === old)?.rotated).toBe(true);
  });

  test('two concurrent rotations of one token: exactly one new token, the other null', async () => {
    const store = newStore();
    const old = await store.generateToken(grant);
    const results = await Promise.all([store.rotateToken(old, 'client-a'), store.rotateToken(old, 'client-a')]);
    expect(results.filter((result) => result === null)).toHaveLength(1);
    expect(results.filter((result) => typeof result === 'string')).toHaveLength(1);
    expect(store.getMetrics()).toMatchObject({ count: 2, rotatedCount: 1 });
    await store.flush();
  });

  test('rotating for the wrong client, or an unknown token, yields null and changes nothing', async () => {
    const store = newStore();
    const old = await store.generateToken(grant);
    expect(await store.rotateToken(old, 'client-b')).toBeNull();
    expect(await store.rotateToken('nope', 'client-a')).toBeNull();
    expect((await store.validateToken(old, 'client-a')).valid).toBe(true);
    await store.flush();
  });
});

describe('PersistentRefreshTokenStore: loadFromStorage (behaviour 5)', () => {
  test('a restart loads live tokens, keeps rotation marks, and drops expired tokens', async () => {
    const store = newStore({ expirySeconds: 60 });
    const early = await store.generateToken(grant);
    jest.advanceTimersByTime(30_000);
    const late = await store.generateToken(grant);
    const rotated = await store.generateToken(grant);
    const replacement = await store.rotateToken(rotated, 'client-a');
    await store.flush();
    jest.advanceTimersByTime(30_000);
    const reloaded = new PersistentRefreshTokenStore({ expirySeconds: 60 }, await createService(dir), file);
    await reloaded.loadFromStorage();
    expect(reloaded.getMetrics()).toEqual({ count: 3, expiredCount: 0, rotatedCount: 1 });
    expect((await reloaded.validateToken(early, 'client-a')).valid).toBe(false);
    expect((await reloaded.validateToken(late, 'client-a')).valid).toBe(true);
    expect((await reloaded.validateToken(rotated, 'client-a')).valid).toBe(false);
    expect((await reloaded.validateToken(replacement!, 'client-a')).valid).toBe(true);
    await drain();
    expect(jest.getTimerCount()).toBe(0);
  });
});
