import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { nodeFileSystem } from '../lib/files/fs-seam.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { shutdown } from '../lib/stores/shutdown.js';
import { createService, deferred, drain, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, track } from './helpers/store-harness.js';

const REDIRECT = 'https://app.example/callback';
let dir: string;

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(() => {
  removeTempDir(dir);
});

interface Stores {
  sessions: PersistentSessionStore;
  tokens: PersistentRefreshTokenStore;
  clients: PersistentClientStore;
}

const files = (): Record<keyof Stores, string> => ({
  sessions: path.join(dir, 'oauth_sessions.enc'),
  tokens: path.join(dir, 'oauth_refresh_tokens.enc'),
  clients: path.join(dir, 'oauth_clients.enc'),
});

async function openStores(service: EncryptionService): Promise<Stores> {
  const logger = recordingStoreLogger();
  const stores: Stores = {
    sessions: new PersistentSessionStore(service, files().sessions, { maxSessions: 10_000, logger }),
    tokens: new PersistentRefreshTokenStore({ expirySeconds: 3600, logger }, service, files().tokens),
    clients: new PersistentClientStore({ allowedRedirectUris: [REDIRECT], logger }, service, files().clients),
  };
  await Promise.all([stores.sessions.loadFromStorage(), stores.tokens.loadFromStorage(), stores.clients.loadFromStorage()]);
  return stores;
}

describe('the three stores together (FR-1, FR-2, NFR-6)', () => {
  test('1,000 concurrent operations mixed across the stores all reach disk, and a restart loads every record', async () => {
    const service = await createService(dir);
    const stores = await openStores(service);
    const sessionIds = new Set<string>();
    const tokens = new Set<string>();
    const clientIds = new Set<string>();
    const operations = Array.from({ length: 1000 }, async (_, index) => {
      switch (index % 3) {
        case 0: {
          const session = stores.sessions.createSession(`user-${index}`);
          if (index % 5 === 0) stores.sessions.deleteSession(session.sessionId);
          else sessionIds.add(session.sessionId);
          return;
        }
        case 1: {
          const token = await stores.tokens.generateToken({ clientId: 'client-a', userId: `user-${index}`, scope: 'openid' });
          if (index % 4 === 0) {
            const rotated = await stores.tokens.rotateToken(token, 'client-a');
            tokens.add(rotated!);
          } else if (index % 7 === 0) {
            await stores.tokens.revokeToken(token);
          } else {
            tokens.add(token);
          }
          return;
        }
        default: {
          const { client } = await stores.clients.registerClient({ client_name: `App ${index}`, redirect_uris: [REDIRECT] });
          if (index % 11 === 0) await stores.clients.deleteClient(client!.client_id);
          else clientIds.add(client!.client_id);
        }
      }
    });
    await Promise.all(operations);
    await shutdown([stores.sessions, stores.tokens, stores.clients], service);
    expect(service.hasPendingWrites()).toBe(false);

    const restarted = await createService(dir);
    const reloaded = await openStores(restarted);
    const sessionsOnDisk = (await readStoreFile(restarted, files().sessions))!.sessions as { sessionId: string }[];
    expect(new Set(sessionsOnDisk.map((session) => session.sessionId))).toEqual(sessionIds);
    for (const id of sessionIds) expect(reloaded.sessions.getSession(id)).not.toBeNull();
    const validTokens = [];
    for (const token of tokens) if ((await reloaded.tokens.validateToken(token, 'client-a')).valid) validTokens.push(token);
    expect(validTokens).toHaveLength(tokens.size);
    expect(reloaded.tokens.getMetrics().count - reloaded.tokens.getMetrics().rotatedCount).toBe(tokens.size);
    expect(reloaded.clients.getMetrics().count).toBe(clientIds.size);
    for (const id of clientIds) expect(await reloaded.clients.getClient(id)).not.toBeNull();
    expect(sessionIds.size + tokens.size + clientIds.size).toBeGreaterThan(800);
  });

  test('a slow save of one store does not delay another store\'s save (FR-2.2)', async () => {
    const gate = deferred();
    const sessionRenameStarted = deferred();
    const service = await createService(dir, {
      fileSystem: {
        rename: async (from, to) => {
          if (path.basename(to) === 'oauth_sessions.enc') {
            sessionRenameStarted.resolve();
            await gate.promise;
          }
          await nodeFileSystem.rename(from, to);
        },
      },
    });
    const stores = await openStores(service);
    stores.sessions.createSession('user-1');
    const sessionsFlushed = track(stores.sessions.flush());
    await sessionRenameStarted.promise;

    const token = await stores.tokens.generateToken({ clientId: 'client-a', userId: 'user-1', scope: 'openid' });
    await stores.tokens.flush();
    const { client } = await stores.clients.registerClient({ client_name: 'App', redirect_uris: [REDIRECT] });

    expect(((await readStoreFile(service, files().tokens))!.tokens as { token: string }[])[0]!.token).toBe(token);
    expect((await readStoreFile(service, files().clients))!.clients).toEqual([client]);
    await drain();
    expect(sessionsFlushed.isSettled).toBe(false);
    gate.resolve();
    await stores.sessions.flush();
    expect(sessionsFlushed.outcome).toBe('fulfilled');
  });
});
