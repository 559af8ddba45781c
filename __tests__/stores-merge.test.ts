/**
 * Many writers, one truth (issue 9) inside one process, and the journal
 * (issue 15), on real files: every save merges what others wrote, lookups
 * read fresh, rotation and revocation are transactions, a bad record costs
 * only itself, and the journal is folded on close. Each scenario fails on
 * the store that rewrote its whole file from memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { nodeFileSystem } from '../lib/files/fs-seam.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore, type UserSession } from '../lib/stores/session-store.js';
import { createService, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

let dir: string;
let service: EncryptionService;
const sessionsFile = (): string => path.join(dir, 'oauth_sessions.enc');
const tokensFile = (): string => path.join(dir, 'oauth_refresh_tokens.enc');
const BIG = { maxSessions: 1_000_000 };

beforeEach(async () => {
  dir = makeTempDir();
  service = await createService(dir);
});
afterEach(async () => {
  await service.waitForPendingWrites();
  removeTempDir(dir);
});

const sessionIdsOnDisk = async (): Promise<string[]> =>
  (((await readStoreFile(service, sessionsFile()))?.sessions ?? []) as UserSession[]).map((session) => session.sessionId).sort();

/** What a fresh store instance (a restart) loads. */
async function restartedSessionIds(): Promise<string[]> {
  const fresh = new PersistentSessionStore(await createService(dir), sessionsFile(), BIG);
  await fresh.loadFromStorage();
  const ids: string[] = [];
  for (const id of allCreated) if (fresh.getSession(id) !== null) ids.push(id);
  return ids.sort();
}
let allCreated: string[] = [];
beforeEach(() => (allCreated = []));
const create = (store: PersistentSessionStore, user = 'user'): string => {
  const id = store.createSession(user).sessionId;
  allCreated.push(id);
  return id;
};

describe('read-merge-write (FR-1.1, FR-3.3)', () => {
  test('a store used before loadFromStorage() merges: 3 sessions on disk, one created and flushed, 4 after a restart', async () => {
    const first = new PersistentSessionStore(service, sessionsFile(), BIG);
    const existing = [create(first), create(first), create(first)];
    await first.flush();
    const early = new PersistentSessionStore(await createService(dir), sessionsFile(), BIG);
    const added = create(early);
    await early.flush();
    expect(await restartedSessionIds()).toEqual([...existing, added].sort());
  });

  test('two EncryptionService instances in one process: 100 sessions acknowledged by flush(), 100 on disk', async () => {
    const a = new PersistentSessionStore(service, sessionsFile(), BIG);
    const b = new PersistentSessionStore(await createService(dir), sessionsFile(), BIG);
    const ids: string[] = [];
    for (let index = 0; index < 50; index += 1) ids.push(create(a), create(b));
    await Promise.all([a.flush(), b.flush()]);
    expect(await restartedSessionIds()).toEqual(ids.sort());
  });

  test('two store instances on one service: deletions by one are not undone by the other', async () => {
    const a = new PersistentSessionStore(service, sessionsFile(), BIG);
    const b = new PersistentSessionStore(service, sessionsFile(), BIG);
    const kept = create(a);
    const gone = create(a);
    await a.flush();
    expect(b.getSession(gone)).not.toBeNull();
    b.deleteSession(gone);
    create(a);
    await b.flush();
    await a.flush();
    expect(await restartedSessionIds()).not.toContain(gone);
    expect(await restartedSessionIds()).toContain(kept);
  });
});

describe('fresh reads (FR-3.3)', () => {
  test('getSession (synchronous) sees a session another instance created and then deleted, without a restart', async () => {
    const a = new PersistentSessionStore(service, sessionsFile(), BIG);
    const b = new PersistentSessionStore(await createService(dir), sessionsFile(), BIG);
    await b.loadFromStorage();
    const id = create(a);
    expect(b.getSession(id)).toBeNull();
    await a.flush();
    expect(b.getSession(id)?.sessionId).toBe(id);
    a.deleteSession(id);
    await a.flush();
    expect(b.getSession(id)).toBeNull();
  });

  test('a client registered by one instance is known to another at once: getClient and isValidRedirectUri', async () => {
    const config = { allowedRedirectUris: ['*'], logger: recordingStoreLogger() };
    const file = path.join(dir, 'oauth_clients.enc');
    const a = new PersistentClientStore(config, service, file);
    const b = new PersistentClientStore(config, await createService(dir), file);
    await b.loadFromStorage();
    const { client } = await a.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/cb'] });
    expect(await b.getClient(client!.client_id)).toEqual(client);
    expect(await b.isValidRedirectUri(client!.client_id, 'https://app.example/cb')).toBe(true);
    expect(await a.deleteClient(client!.client_id)).toBe(true);
    expect(await b.getClient(client!.client_id)).toBeNull();
  });
});

describe('transactions (FR-4.1, NFR-8)', () => {
  const grant = { clientId: 'client-a', userId: 'user-1', scope: 'openid' };
  const tokens = async (shared = false): Promise<PersistentRefreshTokenStore> =>
    new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: recordingStoreLogger() }, shared ? service : await createService(dir), tokensFile());

  test('a token rotated in instance A is invalid in instance B', async () => {
    const a = await tokens(true);
    const b = await tokens();
    const token = await a.generateToken(grant);
    await a.flush();
    expect((await b.validateToken(token, 'client-a')).valid).toBe(true);
    const next = await a.rotateToken(token, 'client-a');
    expect(next).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await b.validateToken(token, 'client-a')).toEqual({ valid: false, error: 'invalid_grant' });
    expect((await b.validateToken(next!, 'client-a')).valid).toBe(true);
  });

  test('of 8 concurrent rotations of one token through 4 service instances exactly one succeeds, and it is on disk when it resolves', async () => {
    const first = await tokens(true);
    const stores = [first, await tokens(), await tokens(), await tokens()];
    const token = await first.generateToken(grant);
    await first.flush();
    const results = await Promise.all(stores.flatMap((store) => [store.rotateToken(token, 'client-a'), store.rotateToken(token, 'client-a')]));
    const winners = results.filter((result) => result !== null);
    expect(winners).toHaveLength(1);
    const fresh = await tokens();
    await fresh.loadFromStorage();
    expect((await fresh.validateToken(winners[0]!, 'client-a')).valid).toBe(true);
    expect((await fresh.validateToken(token, 'client-a')).valid).toBe(false);
  });

  test('revokeToken resolves once the removal is on disk, and another instance sees it', async () => {
    const a = await tokens(true);
    const b = await tokens();
    const token = await a.generateToken(grant);
    await a.flush();
    await b.revokeToken(token);
    expect(await a.validateToken(token, 'client-a')).toEqual({ valid: false, error: 'invalid_grant' });
    const fresh = await tokens();
    await fresh.loadFromStorage();
    expect(fresh.getMetrics().count).toBe(0);
  });
});

describe('a bad record costs only itself, on load (FR-3.3)', () => {
  test('the good records are kept, a byte-exact copy of the original stays beside it, and the warning counts them', async () => {
    const good = [1, 2].map((n) => ({ sessionId: `s${n}`, userId: 'u', createdAt: Date.now(), expiresAt: Date.now() + 60_000 }));
    const bytes = Buffer.from(await service.encrypt(JSON.stringify({ version: 1, sessions: [good[0], { sessionId: 's3', userId: 42 }, good[1]] })));
    fs.writeFileSync(sessionsFile(), bytes);
    const logger = recordingStoreLogger();
    const store = new PersistentSessionStore(service, sessionsFile(), { logger });
    await store.loadFromStorage();
    expect(store.getSession('s1')).toEqual(good[0]);
    expect(store.getSession('s2')).toEqual(good[1]);
    expect(store.getMetrics().count).toBe(2);
    const copies = fs.readdirSync(dir).filter((name) => name.includes('.corrupt-'));
    expect(copies).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, copies[0]!)).equals(bytes)).toBe(true);
    expect(await sessionIdsOnDisk()).toEqual(['s1', 's2']);
    expect(logger.entries).toEqual([
      { level: 'warn', fields: expect.objectContaining({ keptRecords: 2, droppedRecords: 1, droppedLines: 0 }), message: expect.any(String) },
    ]);
  });
});

describe('hasUnsavedChanges and close, for shutdown (FR-4.2)', () => {
  test('hasUnsavedChanges is true from a change until it is on disk', async () => {
    const store = new PersistentSessionStore(service, sessionsFile());
    expect(store.hasUnsavedChanges()).toBe(false);
    create(store);
    expect(store.hasUnsavedChanges()).toBe(true);
    await store.flush();
    expect(store.hasUnsavedChanges()).toBe(false);
  });

  test('FR-4: a flush with no changes that finds the file created meanwhile by another writer leaves that file as it is', async () => {
    const writer = new PersistentSessionStore(service, sessionsFile());
    create(writer);
    await writer.flush();
    const theirs = fs.readFileSync(sessionsFile());
    fs.rmSync(sessionsFile());
    let appear = false;
    // The store's first locked operation sweeps its directory: the other writer's file appears right then, after the store saw none.
    const late = await createService(dir, {
      fileSystem: {
        readdir: async (target) => {
          if (appear) fs.writeFileSync(sessionsFile(), theirs);
          return nodeFileSystem.readdir(target);
        },
      },
    });
    const store = new PersistentSessionStore(late, sessionsFile());
    appear = true;
    await store.flush();
    expect(fs.readFileSync(sessionsFile()).equals(theirs)).toBe(true);
  });

  test('a flush with no changes still leaves the file, holding every record (FR-3.1)', async () => {
    const store = new PersistentSessionStore(service, sessionsFile());
    await store.flush();
    expect(await readStoreFile(service, sessionsFile())).toEqual({ version: 1, sessions: [] });
  });
});

describe('a second service under the same key reads what the first wrote', () => {
  test('no key derivation is shared between instances: each derives the other\'s salt once', async () => {
    const other = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key') });
    await other.initialize();
    const a = new PersistentSessionStore(service, sessionsFile());
    const b = new PersistentSessionStore(other, sessionsFile());
    const id = create(a);
    await a.flush();
    expect(b.getSession(id)?.sessionId).toBe(id);
  });
});
