/**
 * A peer with the wrong key (a new container with another SAGE_ENCRYPTION_KEY,
 * another key path) must not wipe the store for the instances that hold the
 * right one (issue 9: nothing acknowledged is lost, whoever else writes;
 * NFR-8: nothing on disk is lost because we failed to read it). Found by the
 * adversarial review: the peer moved every file aside and the live instance
 * then answered from an empty store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { createService, makeTempDir, recordingStoreLogger, removeTempDir } from './helpers/store-harness.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

async function wrongKeyService(): Promise<EncryptionService> {
  const service = new EncryptionService({ encryptionKey: 'not-the-key', keyStoragePath: path.join(dir, 'other-key'), durable: false });
  await service.initialize();
  return service;
}

const tokens = (service: EncryptionService): PersistentRefreshTokenStore =>
  new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: recordingStoreLogger() }, service, path.join(dir, 'tokens.enc'));
const clients = (service: EncryptionService): PersistentClientStore =>
  new PersistentClientStore({ allowedRedirectUris: ['https://app.example/callback'], logger: recordingStoreLogger() }, service, path.join(dir, 'clients.enc'));

test('NFR-8, FR-3.3: a wrong-key peer is refused with ERR_DECRYPT and the live instance keeps every token and client', async () => {
  const good = await createService(dir);
  const live = tokens(good);
  const liveClients = clients(good);
  const issued = await Promise.all(Array.from({ length: 50 }, (_, index) => live.generateToken({ clientId: 'app', userId: `u${index}`, scope: 'read' })));
  await live.flush();
  const registered = await liveClients.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/callback'] });
  const before = fs.readdirSync(dir).sort();

  const bad = await wrongKeyService();
  const peer = tokens(bad);
  const peerClients = clients(bad);
  await expect(peer.loadFromStorage()).rejects.toMatchObject({ code: 'ERR_DECRYPT', isAuthenticationFailure: true });
  await expect(peerClients.loadFromStorage()).rejects.toMatchObject({ code: 'ERR_DECRYPT', isAuthenticationFailure: true });
  // The peer cannot write either: its save catches up first, and that read fails the same way.
  await peer.generateToken({ clientId: 'app', userId: 'peer', scope: 'read' });
  await expect(peer.flush()).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
  expect(fs.readdirSync(dir).filter((name) => !name.startsWith('other-key')).sort()).toEqual(before);

  const valid = await Promise.all(issued.map((token) => live.validateToken(token, 'app')));
  expect(valid.filter((result) => result.valid)).toHaveLength(50);
  expect(await liveClients.isValidRedirectUri(registered.client!.client_id, 'https://app.example/callback')).toBe(true);

  const restarted = tokens(await createService(dir));
  await restarted.loadFromStorage();
  expect(restarted.getMetrics().count).toBe(50);
});
