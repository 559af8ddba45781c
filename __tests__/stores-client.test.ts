import fs from 'node:fs';
import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentClientStore, type OAuthClient } from '../lib/stores/client-store.js';
import {
  createService, deferred, drain, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, storeWriteCounter, switchableWriteFault, track,
} from './helpers/store-harness.js';

let dir: string;
let file: string;
let service: EncryptionService;

beforeEach(async () => {
  dir = makeTempDir();
  file = path.join(dir, 'oauth_clients.enc');
  service = await createService(dir);
});

afterEach(async () => {
  await service.waitForPendingWrites();
  removeTempDir(dir);
});

const newStore = (allowedRedirectUris: string[] = ['https://app.example/callback'], trustedRedirectUris?: string[]): PersistentClientStore =>
  new PersistentClientStore({ allowedRedirectUris, trustedRedirectUris, logger: recordingStoreLogger() }, service, file);

const clientsOnDisk = async (): Promise<OAuthClient[]> => ((await readStoreFile(service, file))?.clients ?? []) as OAuthClient[];

describe('PersistentClientStore: registration (FR-3.1, RFC 7591)', () => {
  test('registerClient fills the defaults and resolves only once the client is on disk (behaviour 1)', async () => {
    const store = newStore();
    const gate = deferred();
    // Hold the file's lock: the registration's write must wait behind it.
    const holding = service.withFileLock(file, () => gate.promise);
    const result = store.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/callback'] });
    const registering = track(result);
    await drain();
    expect(registering.isSettled).toBe(false);
    gate.resolve();
    await holding;
    const { success, client } = await result;
    expect(success).toBe(true);
    expect(client).toEqual({
      client_id: expect.stringMatching(/^sage_[0-9a-f]{32}$/),
      client_name: 'App',
      redirect_uris: ['https://app.example/callback'],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
      client_id_issued_at: expect.any(Number),
    });
    expect(Math.abs(client!.client_id_issued_at - Date.now() / 1000)).toBeLessThan(5);
    expect(await clientsOnDisk()).toContainEqual(client);
    expect(await store.getClient(client!.client_id)).toEqual(client);
  });

  test('explicit response_types, grant_types and token_endpoint_auth_method are kept', async () => {
    const { client } = await newStore().registerClient({
      client_name: 'App', redirect_uris: ['https://app.example/callback'],
      response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_post',
    });
    expect(client).toMatchObject({ response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_post' });
  });

  test.each([
    ['a missing name', { redirect_uris: ['https://app.example/callback'] }],
    ['a blank name', { client_name: '  ', redirect_uris: ['https://app.example/callback'] }],
    ['grant_types that are not strings', { client_name: 'App', redirect_uris: ['https://app.example/callback'], grant_types: [1] }],
  ])('%s is invalid_client_metadata and nothing is written', async (_, request) => {
    const store = newStore();
    const result = await store.registerClient(request as never);
    expect(result).toEqual({ success: false, error: 'invalid_client_metadata', errorDescription: expect.any(String) });
    expect(store.getMetrics()).toEqual({ count: 0 });
    expect(fs.existsSync(file)).toBe(false);
  });

  test.each([
    ['no redirect URIs', [], ['https://app.example/callback']],
    ['a URI outside the allowed list', ['https://evil.example/callback'], ['https://app.example/callback']],
    ['plain http outside loopback, even when listed', ['http://app.example/callback'], ['http://app.example/callback']],
    ['plain http outside loopback under a wildcard', ['http://app.example/callback'], ['*']],
    ['a relative URI', ['/callback'], ['*']],
    ['one bad URI among good ones', ['https://app.example/callback', 'https://evil.example/cb'], ['https://app.example/callback']],
  ])('%s is invalid_redirect_uri', async (_, redirectUris, allowed) => {
    const store = newStore(allowed);
    const result = await store.registerClient({ client_name: 'App', redirect_uris: redirectUris });
    expect(result).toEqual({ success: false, error: 'invalid_redirect_uri', errorDescription: expect.any(String) });
    expect(store.getMetrics()).toEqual({ count: 0 });
  });

  test.each([
    ['a listed https URI', ['https://app.example/callback'], ['https://app.example/callback'], []],
    ['any https URI under a wildcard', ['https://anything.example/cb'], ['*'], []],
    ['an http loopback /callback on any port, with an empty allowed list', ['http://127.0.0.1:53123/callback', 'http://localhost:3000/oauth/callback'], [], []],
    ["Claude's callback URLs, with an empty allowed list", ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'], [], []],
    ['a trusted URI, whatever its scheme', ['cursor://anysphere.cursor-retrieval/oauth/callback', 'http://intranet.example/cb'], [], ['cursor://anysphere.cursor-retrieval/oauth/callback', 'http://intranet.example/cb']],
  ])('%s is accepted (RFC 8252 §7.3)', async (_, redirectUris, allowed, trusted) => {
    const result = await newStore(allowed, trusted).registerClient({ client_name: 'App', redirect_uris: redirectUris });
    expect(result.success).toBe(true);
  });

  test('isValidRedirectUri: registered URIs match exactly; any loopback /callback once the client registered one (as the original)', async () => {
    const store = newStore();
    const { client } = await store.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/callback', 'http://localhost:3000/callback'] });
    const id = client!.client_id;
    expect(await store.isValidRedirectUri(id, 'https://app.example/callback')).toBe(true);
    expect(await store.isValidRedirectUri(id, 'https://app.example/other')).toBe(false);
    expect(await store.isValidRedirectUri(id, 'https://app.example:8443/callback')).toBe(false);
    expect(await store.isValidRedirectUri(id, 'http://127.0.0.1:49152/callback')).toBe(true);
    expect(await store.isValidRedirectUri(id, 'http://localhost:3000/oauth/callback')).toBe(true);
    expect(await store.isValidRedirectUri(id, 'http://localhost:3000/other')).toBe(false);
    expect(await store.isValidRedirectUri('unknown', 'https://app.example/callback')).toBe(false);
    const { client: webOnly } = await store.registerClient({ client_name: 'Web', redirect_uris: ['https://app.example/callback'] });
    expect(await store.isValidRedirectUri(webOnly!.client_id, 'http://127.0.0.1:49152/callback')).toBe(false);
  });

  test('strictRedirectUris (opt-in): fragments are refused, and loopback URIs match a registered one on all but the port (RFC 8252 §7.3)', async () => {
    const store = new PersistentClientStore({ allowedRedirectUris: ['*'], strictRedirectUris: true, logger: recordingStoreLogger() }, service, file);
    expect(await store.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/callback#x'] })).toEqual({
      success: false, error: 'invalid_redirect_uri', errorDescription: 'redirect_uri must not contain a fragment: https://app.example/callback#x',
    });
    const { client } = await store.registerClient({ client_name: 'App', redirect_uris: ['http://127.0.0.1/callback'] });
    const id = client!.client_id;
    expect(await store.isValidRedirectUri(id, 'http://127.0.0.1:49152/callback')).toBe(true);
    expect(await store.isValidRedirectUri(id, 'http://localhost:49152/callback')).toBe(false);
    expect(await store.isValidRedirectUri(id, 'http://127.0.0.1:49152/other/callback')).toBe(false);
  });

  test('the config arrays are copied: changing them later changes nothing', async () => {
    const allowed = ['https://app.example/callback'];
    const store = new PersistentClientStore({ allowedRedirectUris: allowed }, service, file);
    allowed.push('*');
    expect((await store.registerClient({ client_name: 'App', redirect_uris: ['https://other.example/cb'] })).error).toBe('invalid_redirect_uri');
  });
});

describe('PersistentClientStore: deletion and persistence', () => {
  test('deleteClient resolves true once the removal is on disk, false for an unknown client', async () => {
    const store = newStore();
    const { client: kept } = await store.registerClient({ client_name: 'Kept', redirect_uris: ['https://app.example/callback'] });
    const { client: gone } = await store.registerClient({ client_name: 'Gone', redirect_uris: ['https://app.example/callback'] });
    expect(await store.deleteClient(gone!.client_id)).toBe(true);
    expect(await clientsOnDisk()).toEqual([kept]);
    expect(await store.deleteClient(gone!.client_id)).toBe(false);
    expect(await store.getClient(gone!.client_id)).toBeNull();
  });

  test('a restart loads every client', async () => {
    const store = newStore();
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, index) => store.registerClient({ client_name: `App ${index}`, redirect_uris: ['https://app.example/callback'] })),
    );
    const reloaded = new PersistentClientStore({ allowedRedirectUris: [] }, await createService(dir), file);
    await reloaded.loadFromStorage();
    expect(reloaded.getMetrics()).toEqual({ count: 20 });
    for (const { client } of clients) expect(await reloaded.getClient(client!.client_id)).toEqual(client);
  });

  test('20 concurrent registrations cost at most two writes', async () => {
    const counter = storeWriteCounter(file);
    const counted = await createService(dir, counter.seam);
    const store = new PersistentClientStore({ allowedRedirectUris: ['*'], logger: recordingStoreLogger() }, counted, file);
    await Promise.all(Array.from({ length: 20 }, () => store.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/callback'] })));
    expect(counter.writes()).toBeGreaterThanOrEqual(1);
    expect(counter.writes()).toBeLessThanOrEqual(2);
  });

  test('a failed write rejects registerClient with its code and the client is not kept (NFR-8)', async () => {
    const fault = switchableWriteFault();
    const faulty = await createService(dir, fault.seam);
    const store = new PersistentClientStore({ allowedRedirectUris: ['*'] }, faulty, file);
    const { client: kept } = await store.registerClient({ client_name: 'Kept', redirect_uris: ['https://app.example/callback'] });
    fault.failWith('ENOSPC');
    await expect(store.registerClient({ client_name: 'Lost', redirect_uris: ['https://app.example/callback'] })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(store.getMetrics()).toEqual({ count: 1 });
    await expect(store.deleteClient(kept!.client_id)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await store.getClient(kept!.client_id)).toEqual(kept);
    fault.failWith(undefined);
    await store.flush();
    expect(await clientsOnDisk()).toEqual([kept]);
  });
});
