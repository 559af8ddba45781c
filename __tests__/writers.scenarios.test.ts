/**
 * Issue 9's scenarios, in one process (black box: the public API only, real
 * files in a fresh directory per test). Each test names the requirement it
 * proves and the issue 9 scenario or item. Two store instances on one file
 * stand for two workers of one server; two EncryptionService instances on
 * one file exclude each other only through the cross-process lock, so they
 * stand for two processes too. No test sleeps: every step awaits the
 * operation whose effect the next step checks.
 */
import {
  closeAll, CLIENT_ID, createStores, flushAll, makeTempDir, openService, REDIRECT, registerClient, removeTempDir, restart, type Stores,
} from './helpers/writers.js';

let dir: string;
const opened: Stores[] = [];

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(async () => {
  // Cancels the long token debounces; a failing test may leave saves behind, which must not fail the next one.
  await Promise.allSettled(opened.splice(0).map((stores) => flushAll(stores)));
  removeTempDir(dir);
});

/** Stores on their own EncryptionService (a second "process"), or on `shared`'s (a second store in one server). */
async function open(options: Parameters<typeof createStores>[2] & { service?: Stores['service'] } = {}): Promise<Stores> {
  const stores = await createStores(options.service ?? (await openService(dir)), dir, options);
  opened.push(stores);
  return stores;
}

async function reopen(options: Parameters<typeof createStores>[2] = {}): Promise<Stores> {
  const stores = await restart(dir, options);
  opened.push(stores);
  return stores;
}

/** Seeds `count` records of each kind through a store that is closed afterwards; returns their ids. */
async function seed(count: number): Promise<{ sessions: string[]; tokens: string[]; clients: string[] }> {
  const stores = await open();
  const sessions = Array.from({ length: count }, (_, index) => stores.sessions.createSession(`seed-user-${index}`).sessionId);
  const tokens = await Promise.all(Array.from({ length: count }, (_, index) => stores.tokens.generateToken({ clientId: CLIENT_ID, userId: `seed-${index}`, scope: 'openid' })));
  const clients = await Promise.all(Array.from({ length: count }, (_, index) => registerClient(stores, `Seed ${index}`)));
  await closeAll(stores);
  return { sessions, tokens, clients };
}

const TOPOLOGIES = [
  ['two stores on one EncryptionService (one server, two store instances)', true],
  ['two stores on two EncryptionService instances (stands for two processes)', false],
] as const;

async function pair(isSharedService: boolean): Promise<[Stores, Stores]> {
  const a = await open();
  const b = await open(isSharedService ? { service: a.service } : {});
  return [a, b];
}

describe('a request served before loadFromStorage() (FR-3.3)', () => {
  test('3 sessions on disk, a new store creates one and flushes before loading: a restart loads 4', async () => {
    const seeded = await seed(3);
    const early = await open({ load: false });
    const session = early.sessions.createSession('early-user');
    await early.sessions.flush();

    const after = await reopen();
    expect(after.sessions.getMetrics().count).toBe(4);
    for (const id of [...seeded.sessions, session.sessionId]) expect(after.sessions.getSession(id)).not.toBeNull();
  });

  test('3 tokens on disk, a new store issues one and flushes before loading: a restart loads 4', async () => {
    const seeded = await seed(3);
    const early = await open({ load: false });
    const token = await early.tokens.generateToken({ clientId: CLIENT_ID, userId: 'early-user', scope: 'openid' });
    await early.tokens.flush();

    const after = await reopen();
    expect(after.tokens.getMetrics().count).toBe(4);
    for (const id of [...seeded.tokens, token]) expect((await after.tokens.validateToken(id, CLIENT_ID)).valid).toBe(true);
  });

  test('3 clients on disk, a new store registers one before loading: a restart loads 4', async () => {
    const seeded = await seed(3);
    const early = await open({ load: false });
    const clientId = await registerClient(early, 'Early');

    const after = await reopen();
    expect(after.clients.getMetrics().count).toBe(4);
    for (const id of [...seeded.clients, clientId]) expect(await after.clients.getClient(id)).not.toBeNull();
  });

  test('a session created before loadFromStorage() is still there after the load, and a flush then saves all 4', async () => {
    const seeded = await seed(3);
    const early = await open({ load: false });
    const session = early.sessions.createSession('early-user');
    await early.sessions.loadFromStorage();
    expect(early.sessions.getSession(session.sessionId)).not.toBeNull();
    await early.sessions.flush();

    const after = await reopen();
    expect(after.sessions.getMetrics().count).toBe(4);
    for (const id of [...seeded.sessions, session.sessionId]) expect(after.sessions.getSession(id)).not.toBeNull();
  });
});

describe('two EncryptionService instances and two stores of each kind on the same files (FR-1.1, NFR-9)', () => {
  test('100 sessions acknowledged by flush() across both instances: 100 on disk after a restart (default maxSessions)', async () => {
    const a = await open({ defaultMaxSessions: true });
    const b = await open({ defaultMaxSessions: true });
    const ids: string[] = [];
    const flushes: Promise<void>[] = [];
    for (let index = 0; index < 100; index += 1) {
      const store = index % 2 === 0 ? a : b;
      ids.push(store.sessions.createSession(`user-${index}`).sessionId);
      if (index % 10 === 9) flushes.push(store.sessions.flush());
    }
    await Promise.all([...flushes, a.sessions.flush(), b.sessions.flush()]);

    const after = await reopen({ defaultMaxSessions: true });
    expect(after.sessions.getMetrics().count).toBe(100);
    expect(ids.filter((id) => after.sessions.getSession(id) === null)).toEqual([]);
  });

  test('100 tokens acknowledged by flush() across both instances: 100 on disk after a restart', async () => {
    const [a, b] = [await open(), await open()];
    const tokens = await Promise.all(
      Array.from({ length: 100 }, async (_, index) => {
        const store = index % 2 === 0 ? a : b;
        const token = await store.tokens.generateToken({ clientId: CLIENT_ID, userId: `user-${index}`, scope: 'openid' });
        if (index % 10 === 9) await store.tokens.flush();
        return token;
      }),
    );
    await Promise.all([a.tokens.flush(), b.tokens.flush()]);

    const after = await reopen();
    expect(after.tokens.getMetrics().count).toBe(100);
    const invalid: string[] = [];
    for (const token of tokens) if (!(await after.tokens.validateToken(token, CLIENT_ID)).valid) invalid.push(token);
    expect(invalid).toEqual([]);
  });

  test('100 clients registered concurrently across both instances (each resolves once on disk): 100 on disk after a restart', async () => {
    const [a, b] = [await open(), await open()];
    const ids = await Promise.all(Array.from({ length: 100 }, (_, index) => registerClient(index % 2 === 0 ? a : b, `App ${index}`)));

    const after = await reopen();
    expect(after.clients.getMetrics().count).toBe(100);
    const missing: string[] = [];
    for (const id of ids) if ((await after.clients.getClient(id)) === null) missing.push(id);
    expect(missing).toEqual([]);
  });
});

describe.each(TOPOLOGIES)('fresh reads, %s (FR-3.3)', (_name, isSharedService) => {
  test('getSession through B sees a session A created, and no longer sees one A deleted, right after A flushed', async () => {
    const [a, b] = await pair(isSharedService);
    const created = a.sessions.createSession('user-1');
    await a.sessions.flush();
    expect(b.sessions.getSession(created.sessionId)).toMatchObject({ sessionId: created.sessionId, userId: 'user-1' });

    a.sessions.deleteSession(created.sessionId);
    await a.sessions.flush();
    expect(b.sessions.getSession(created.sessionId)).toBeNull();
  });

  test("B's own later save neither resurrects a session A deleted nor drops one A added (B never looked them up)", async () => {
    const [a, b] = await pair(isSharedService);
    const doomed = a.sessions.createSession('doomed');
    await a.sessions.flush();
    await b.sessions.loadFromStorage(); // B now holds `doomed` in memory.
    a.sessions.deleteSession(doomed.sessionId);
    const added = a.sessions.createSession('added');
    await a.sessions.flush();
    const own = b.sessions.createSession('b-own');
    await b.sessions.flush();

    const after = await reopen();
    expect(after.sessions.getSession(doomed.sessionId)).toBeNull();
    expect(after.sessions.getSession(added.sessionId)).not.toBeNull();
    expect(after.sessions.getSession(own.sessionId)).not.toBeNull();
    expect(after.sessions.getMetrics().count).toBe(2);
  });

  test('deleteSession through B of a session A created (B never looked it up) is on disk after B flushes (a logout on another worker)', async () => {
    const [a, b] = await pair(isSharedService);
    const created = a.sessions.createSession('user-1');
    await a.sessions.flush();
    b.sessions.deleteSession(created.sessionId);
    await b.sessions.flush();

    expect(a.sessions.getSession(created.sessionId)).toBeNull();
    const after = await reopen();
    expect(after.sessions.getSession(created.sessionId)).toBeNull();
  });

  test('deleteClient through B of a client A registered (B never looked it up) resolves true and is on disk', async () => {
    const [a, b] = await pair(isSharedService);
    const clientId = await registerClient(a, 'App');
    expect(await b.clients.deleteClient(clientId)).toBe(true);

    expect(await a.clients.getClient(clientId)).toBeNull();
    const after = await reopen();
    expect(await after.clients.getClient(clientId)).toBeNull();
  });

  test('validateToken through B sees a token A issued, and refuses one A revoked, right after A resolved', async () => {
    const [a, b] = await pair(isSharedService);
    const token = await a.tokens.generateToken({ clientId: CLIENT_ID, userId: 'user-1', scope: 'openid' });
    await a.tokens.flush();
    expect(await b.tokens.validateToken(token, CLIENT_ID)).toMatchObject({ valid: true, tokenData: { token, user_id: 'user-1' } });

    await a.tokens.revokeToken(token);
    expect(await b.tokens.validateToken(token, CLIENT_ID)).toEqual({ valid: false, error: 'invalid_grant' });
  });

  test("B's own later token save neither resurrects a token A revoked nor drops one A issued", async () => {
    const [a, b] = await pair(isSharedService);
    const revoked = await a.tokens.generateToken({ clientId: CLIENT_ID, userId: 'revoked', scope: 'openid' });
    await a.tokens.flush();
    await b.tokens.loadFromStorage();
    await a.tokens.revokeToken(revoked);
    const issued = await a.tokens.generateToken({ clientId: CLIENT_ID, userId: 'issued', scope: 'openid' });
    await a.tokens.flush();
    const own = await b.tokens.generateToken({ clientId: CLIENT_ID, userId: 'b-own', scope: 'openid' });
    await b.tokens.flush();

    const after = await reopen();
    expect((await after.tokens.validateToken(revoked, CLIENT_ID)).valid).toBe(false);
    expect((await after.tokens.validateToken(issued, CLIENT_ID)).valid).toBe(true);
    expect((await after.tokens.validateToken(own, CLIENT_ID)).valid).toBe(true);
    expect(after.tokens.getMetrics().count).toBe(2);
  });

  test('getClient and isValidRedirectUri through B see a client A registered, and not one A deleted, right after A resolved', async () => {
    const [a, b] = await pair(isSharedService);
    const clientId = await registerClient(a, 'App');
    expect(await b.clients.getClient(clientId)).toMatchObject({ client_id: clientId, redirect_uris: [REDIRECT] });
    expect(await b.clients.isValidRedirectUri(clientId, REDIRECT)).toBe(true);

    expect(await a.clients.deleteClient(clientId)).toBe(true);
    expect(await b.clients.getClient(clientId)).toBeNull();
    expect(await b.clients.isValidRedirectUri(clientId, REDIRECT)).toBe(false);
  });

  test("B's own later registration neither resurrects a client A deleted nor drops one A registered", async () => {
    const [a, b] = await pair(isSharedService);
    const deleted = await registerClient(a, 'Deleted');
    await b.clients.loadFromStorage();
    expect(await a.clients.deleteClient(deleted)).toBe(true);
    const registered = await registerClient(a, 'Registered');
    const own = await registerClient(b, 'B own');

    const after = await reopen();
    expect(await after.clients.getClient(deleted)).toBeNull();
    expect(await after.clients.getClient(registered)).not.toBeNull();
    expect(await after.clients.getClient(own)).not.toBeNull();
    expect(after.clients.getMetrics().count).toBe(2);
  });
});

describe.each(TOPOLOGIES)('rotation, %s (FR-1.1, FR-4.1)', (_name, isSharedService) => {
  test('a token rotated through A is invalid through B (and cannot be rotated there) right after the rotation resolved; its successor is valid', async () => {
    const [a, b] = await pair(isSharedService);
    const token = await a.tokens.generateToken({ clientId: CLIENT_ID, userId: 'user-1', scope: 'openid' });
    await a.tokens.flush();
    await b.tokens.loadFromStorage(); // B holds the token: what follows is about rotation, not about first sight.
    expect((await b.tokens.validateToken(token, CLIENT_ID)).valid).toBe(true);

    const successor = await a.tokens.rotateToken(token, CLIENT_ID);
    expect(successor).toEqual(expect.any(String));
    expect(await b.tokens.validateToken(token, CLIENT_ID)).toEqual({ valid: false, error: 'invalid_grant' });
    expect(await b.tokens.rotateToken(token, CLIENT_ID)).toBeNull();
    expect(await b.tokens.validateToken(successor!, CLIENT_ID)).toMatchObject({ valid: true, tokenData: { user_id: 'user-1' } });
  });

  test('a refresh served by another worker: rotateToken and revokeToken through B of tokens A issued (B never looked them up) work and are on disk', async () => {
    const [a, b] = await pair(isSharedService);
    const [rotated, revoked] = await Promise.all(['rotated', 'revoked'].map((userId) => a.tokens.generateToken({ clientId: CLIENT_ID, userId, scope: 'openid' })));
    await a.tokens.flush();
    const successor = await b.tokens.rotateToken(rotated!, CLIENT_ID);
    expect(successor).toEqual(expect.any(String));
    await b.tokens.revokeToken(revoked!);

    expect((await a.tokens.validateToken(rotated!, CLIENT_ID)).valid).toBe(false);
    expect((await a.tokens.validateToken(successor!, CLIENT_ID)).valid).toBe(true);
    expect((await a.tokens.validateToken(revoked!, CLIENT_ID)).valid).toBe(false);
    const fresh = await reopen();
    expect(fresh.tokens.getMetrics()).toMatchObject({ count: 2, rotatedCount: 1 });
  });

  test('of concurrent rotations of one token through A and B, exactly one gets a new token (20 tokens, both orders)', async () => {
    const [a, b] = await pair(isSharedService);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, index) => a.tokens.generateToken({ clientId: CLIENT_ID, userId: `user-${index}`, scope: 'openid' })));
    await a.tokens.flush();
    await b.tokens.loadFromStorage();
    const winners = await Promise.all(
      tokens.map(async (token, index) => {
        const [first, second] = index % 2 === 0 ? [a, b] : [b, a];
        const results = await Promise.all([first.tokens.rotateToken(token, CLIENT_ID), second.tokens.rotateToken(token, CLIENT_ID)]);
        return results.filter((result) => result !== null);
      }),
    );
    expect(winners.map((won) => won.length)).toEqual(tokens.map(() => 1));

    const after = await reopen();
    // Every original is rotated, every winner valid: 20 originals + 20 successors, no third token.
    expect(after.tokens.getMetrics()).toMatchObject({ count: 40, rotatedCount: 20 });
    for (const [successor] of winners) expect((await after.tokens.validateToken(successor!, CLIENT_ID)).valid).toBe(true);
  });
});

describe('a rotation or revocation resolves only once it is on disk (FR-4.1, NFR-8)', () => {
  // The tokens' debounce is an hour (NEVER_BY_TIMER) and nothing flushes: only the operation itself can have written the file.
  test('right after rotateToken resolved, a fresh instance reads the old token rotated and the new one valid', async () => {
    const [a] = await pair(false);
    const token = await a.tokens.generateToken({ clientId: CLIENT_ID, userId: 'user-1', scope: 'openid' });
    await a.tokens.flush();
    const successor = await a.tokens.rotateToken(token, CLIENT_ID);

    const fresh = await reopen();
    expect((await fresh.tokens.validateToken(token, CLIENT_ID)).valid).toBe(false);
    expect(await fresh.tokens.validateToken(successor!, CLIENT_ID)).toMatchObject({ valid: true, tokenData: { user_id: 'user-1' } });
    expect(fresh.tokens.getMetrics()).toMatchObject({ count: 2, rotatedCount: 1 });
  });

  test('right after revokeToken resolved, a fresh instance no longer has the token', async () => {
    const [a] = await pair(false);
    const [kept, revoked] = await Promise.all(['kept', 'revoked'].map((userId) => a.tokens.generateToken({ clientId: CLIENT_ID, userId, scope: 'openid' })));
    await a.tokens.flush();
    await a.tokens.revokeToken(revoked!);

    const fresh = await reopen();
    expect((await fresh.tokens.validateToken(revoked!, CLIENT_ID)).valid).toBe(false);
    expect((await fresh.tokens.validateToken(kept!, CLIENT_ID)).valid).toBe(true);
    expect(fresh.tokens.getMetrics().count).toBe(1);
  });

  test('right after revokeAllForClient resolved, a fresh instance has none of the client\'s tokens, including one issued through another instance', async () => {
    const [a, b] = await pair(false);
    const ofClient = await Promise.all([1, 2, 3].map((index) => a.tokens.generateToken({ clientId: CLIENT_ID, userId: `user-${index}`, scope: 'openid' })));
    const other = await a.tokens.generateToken({ clientId: 'client-b', userId: 'user-b', scope: 'openid' });
    await a.tokens.flush();
    const throughB = await b.tokens.generateToken({ clientId: CLIENT_ID, userId: 'user-via-b', scope: 'openid' });
    await b.tokens.flush();
    await a.tokens.revokeAllForClient(CLIENT_ID);

    const fresh = await reopen();
    for (const token of [...ofClient, throughB]) expect((await fresh.tokens.validateToken(token, CLIENT_ID)).valid).toBe(false);
    expect((await fresh.tokens.validateToken(other, 'client-b')).valid).toBe(true);
    expect(fresh.tokens.getMetrics().count).toBe(1);
  });

  test('rotating a token issued but never flushed: once the rotation resolved, a fresh instance has the successor', async () => {
    const [a] = await pair(false);
    const token = await a.tokens.generateToken({ clientId: CLIENT_ID, userId: 'user-1', scope: 'openid' });
    const successor = await a.tokens.rotateToken(token, CLIENT_ID);

    const fresh = await reopen();
    expect((await fresh.tokens.validateToken(successor!, CLIENT_ID)).valid).toBe(true);
  });
});

describe('a rolling restart in one process, the old instance closing while the new ones keep writing (FR-4.1)', () => {
  test('after the old instance closed (folding its journal, if any), the others still see and save everything, and a restart loads it all', async () => {
    const old = await open();
    const next = await open();
    const watcher = await open();
    const fromOld = old.sessions.createSession('from-old');
    await old.sessions.flush();
    const fromNext = next.sessions.createSession('from-next');
    await next.sessions.flush();
    expect(watcher.sessions.getSession(fromOld.sessionId)).not.toBeNull(); // the watcher has read the file up to here
    await closeAll(old);

    const afterClose = next.sessions.createSession('after-close');
    await next.sessions.flush();
    expect(watcher.sessions.getSession(afterClose.sessionId)).not.toBeNull();
    expect(next.sessions.getSession(fromOld.sessionId)).not.toBeNull();
    watcher.sessions.deleteSession(fromNext.sessionId);
    await watcher.sessions.flush();
    expect(next.sessions.getSession(fromNext.sessionId)).toBeNull();

    const after = await reopen();
    expect(after.sessions.getMetrics().count).toBe(2);
    expect(after.sessions.getSession(fromOld.sessionId)).not.toBeNull();
    expect(after.sessions.getSession(afterClose.sessionId)).not.toBeNull();
  });
});
