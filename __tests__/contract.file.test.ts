/** The async store contract on the file backend, through the adapters. */
import path from 'node:path';
import { asyncClientStore, asyncRefreshTokenStore, asyncSessionStore } from '../lib/stores/async-adapters.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { describeStoreContract } from './contract.suite.js';
import { createService, makeTempDir, removeTempDir } from './helpers/store-harness.js';

describeStoreContract('the file backend (adapters)', async () => {
  const dir = makeTempDir();
  const service = await createService(dir);
  const sessions = new PersistentSessionStore(service, path.join(dir, 'sessions.enc'));
  const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600 }, service, path.join(dir, 'tokens.enc'));
  const clients = new PersistentClientStore({ allowedRedirectUris: ['https://app.example/callback'] }, service, path.join(dir, 'clients.enc'));
  await Promise.all([sessions.loadFromStorage(), tokens.loadFromStorage(), clients.loadFromStorage()]);
  return {
    sessions: asyncSessionStore(sessions),
    tokens: asyncRefreshTokenStore(tokens),
    clients: asyncClientStore(clients),
    async close() {
      await Promise.all([sessions.flush(), tokens.flush(), clients.flush()]);
      removeTempDir(dir);
    },
  };
});

test('a synchronous throw of a drop-in store reaches the caller as a rejection, not a throw', async () => {
  const failing = { createSession: () => { throw new TypeError('bad'); } } as unknown as PersistentSessionStore;
  const adapted = asyncSessionStore(failing);
  let promise: Promise<unknown> | undefined;
  expect(() => (promise = adapted.createSession('u'))).not.toThrow();
  await expect(promise).rejects.toThrow(TypeError);
});
