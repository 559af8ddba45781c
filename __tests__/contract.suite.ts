/**
 * One behaviour suite for the async store contract, run over every backend
 * (as async-mutex runs one suite over its mutex kinds): the file stores through
 * the adapters (contract.file.test.ts) and the Redis stores
 * (contract.redis.test.ts). A backend passes only if it behaves the same.
 */
import type { ClientStore, RefreshTokenStore, SessionStore } from '../lib/stores/contract.js';

export interface ContractStores {
  sessions: SessionStore;
  tokens: RefreshTokenStore;
  clients: ClientStore;
}

/** Makes fresh, empty stores for one test; `close` releases what it opened. */
export type ContractFactory = () => Promise<ContractStores & { close(): Promise<void> }>;

const CLIENT_REQUEST = { client_name: 'Contract app', redirect_uris: ['https://app.example/callback', 'http://127.0.0.1:8000/callback'] };

export function describeStoreContract(backend: string, factory: ContractFactory): void {
  describe(`the async store contract on ${backend}`, () => {
    let stores: Awaited<ReturnType<ContractFactory>>;
    beforeEach(async () => {
      stores = await factory();
    });
    afterEach(async () => {
      await stores.close();
    });

    describe('sessions', () => {
      test('a created session is found by its id with the same fields, and is gone once deleted', async () => {
        const created = await stores.sessions.createSession('user-1');
        expect(created.sessionId).toMatch(/^[0-9a-f]{64}$/);
        expect(created.userId).toBe('user-1');
        expect(created.expiresAt).toBeGreaterThan(created.createdAt);
        expect(await stores.sessions.getSession(created.sessionId)).toEqual(created);
        await stores.sessions.deleteSession(created.sessionId);
        expect(await stores.sessions.getSession(created.sessionId)).toBeNull();
      });

      test('an unknown session id finds nothing, and deleting it is harmless', async () => {
        const kept = await stores.sessions.createSession('user-2');
        expect(await stores.sessions.getSession('f'.repeat(64))).toBeNull();
        await expect(stores.sessions.deleteSession('f'.repeat(64))).resolves.toBeUndefined();
        expect(await stores.sessions.getSession(kept.sessionId)).toEqual(kept);
      });

      test('a returned session is a copy: changing it changes nothing stored', async () => {
        const created = await stores.sessions.createSession('user-3');
        created.userId = 'attacker';
        expect((await stores.sessions.getSession(created.sessionId))?.userId).toBe('user-3');
      });

      test('flush resolves once the changes are durable', async () => {
        await stores.sessions.createSession('user-4');
        await expect(stores.sessions.flush()).resolves.toBeUndefined();
      });
    });

    describe('refresh tokens', () => {
      const grant = { clientId: 'client-a', userId: 'user-1', scope: 'read write' };

      test('an issued token validates for its client with its grant, and not for another client', async () => {
        const token = await stores.tokens.generateToken(grant);
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        const valid = await stores.tokens.validateToken(token, 'client-a');
        expect(valid.valid).toBe(true);
        expect(valid.tokenData).toMatchObject({ token, client_id: 'client-a', user_id: 'user-1', scope: 'read write', rotated: false });
        expect(await stores.tokens.validateToken(token, 'client-b')).toEqual({ valid: false, error: 'invalid_grant' });
        expect(await stores.tokens.validateToken('0'.repeat(64), 'client-a')).toEqual({ valid: false, error: 'invalid_grant' });
      });

      test('rotation gives a new token for the same grant; the old one no longer validates or rotates', async () => {
        const old = await stores.tokens.generateToken(grant);
        const next = await stores.tokens.rotateToken(old, 'client-a');
        expect(next).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(next).not.toBe(old);
        expect((await stores.tokens.validateToken(old, 'client-a')).valid).toBe(false);
        expect((await stores.tokens.validateToken(next!, 'client-a')).tokenData).toMatchObject({ user_id: 'user-1', scope: 'read write' });
        expect(await stores.tokens.rotateToken(old, 'client-a')).toBeNull();
      });

      test('a rotation for the wrong client fails and leaves the token valid', async () => {
        const token = await stores.tokens.generateToken(grant);
        expect(await stores.tokens.rotateToken(token, 'client-b')).toBeNull();
        expect((await stores.tokens.validateToken(token, 'client-a')).valid).toBe(true);
      });

      test('of 20 concurrent rotations of one token exactly one succeeds', async () => {
        const token = await stores.tokens.generateToken(grant);
        const results = await Promise.all(Array.from({ length: 20 }, () => stores.tokens.rotateToken(token, 'client-a')));
        const winners = results.filter((result) => result !== null);
        expect(winners).toHaveLength(1);
        expect((await stores.tokens.validateToken(winners[0]!, 'client-a')).valid).toBe(true);
      });

      test('a revoked token no longer validates; revoking an unknown one is harmless', async () => {
        const token = await stores.tokens.generateToken(grant);
        await stores.tokens.revokeToken(token);
        expect((await stores.tokens.validateToken(token, 'client-a')).valid).toBe(false);
        await expect(stores.tokens.revokeToken(token)).resolves.toBeUndefined();
      });

      test("revokeAllForClient removes every token of that client and none of another's", async () => {
        const mine = await Promise.all([1, 2, 3].map(() => stores.tokens.generateToken(grant)));
        const rotated = await stores.tokens.rotateToken(mine[0]!, 'client-a');
        const theirs = await stores.tokens.generateToken({ ...grant, clientId: 'client-b' });
        await stores.tokens.revokeAllForClient('client-a');
        for (const token of [...mine, rotated!]) expect((await stores.tokens.validateToken(token, 'client-a')).valid).toBe(false);
        expect((await stores.tokens.validateToken(theirs, 'client-b')).valid).toBe(true);
      });

      test('cleanup removes the rotated tokens, counts them, and leaves live ones valid', async () => {
        const first = await stores.tokens.generateToken(grant);
        const second = await stores.tokens.generateToken({ ...grant, clientId: 'client-b' });
        const next1 = await stores.tokens.rotateToken(first, 'client-a');
        const next2 = await stores.tokens.rotateToken(second, 'client-b');
        expect(await stores.tokens.cleanup()).toBe(2);
        expect(await stores.tokens.cleanup()).toBe(0);
        expect((await stores.tokens.validateToken(next1!, 'client-a')).valid).toBe(true);
        expect((await stores.tokens.validateToken(next2!, 'client-b')).valid).toBe(true);
        expect(await stores.tokens.rotateToken(first, 'client-a')).toBeNull();
      });
    });

    describe('arguments: both backends accept and refuse the same, with the same error', () => {
      test('createSession refuses a non-string or over-long userId with ERR_INVALID_ARGUMENT naming it, and accepts an empty one', async () => {
        await expect(stores.sessions.createSession(42 as unknown as string)).rejects.toMatchObject({ name: 'InvalidArgumentError', code: 'ERR_INVALID_ARGUMENT', argument: 'userId' });
        await expect(stores.sessions.createSession('u'.repeat(65_537))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'userId' });
        const empty = await stores.sessions.createSession('');
        expect(await stores.sessions.getSession(empty.sessionId)).toEqual(empty);
      });

      test('generateToken refuses a missing field or a non-object with ERR_INVALID_ARGUMENT naming it', async () => {
        await expect(stores.tokens.generateToken({ clientId: 'c', userId: 'u' } as never)).rejects.toMatchObject({
          name: 'InvalidArgumentError', code: 'ERR_INVALID_ARGUMENT', argument: 'options.scope',
        });
        await expect(stores.tokens.generateToken({ clientId: 7, userId: 'u', scope: '' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'options.clientId' });
        await expect(stores.tokens.generateToken({ clientId: 'c', userId: null, scope: '' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'options.userId' });
        await expect(stores.tokens.generateToken(null as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'options' });
      });

      test('generateToken accepts empty strings (user id, client id, scope), and such a token validates and rotates', async () => {
        const forEmptyUser = await stores.tokens.generateToken({ clientId: 'client-a', userId: '', scope: '' });
        expect((await stores.tokens.validateToken(forEmptyUser, 'client-a')).tokenData).toMatchObject({ user_id: '', scope: '' });
        const forEmptyClient = await stores.tokens.generateToken({ clientId: '', userId: 'u', scope: 's' });
        expect((await stores.tokens.validateToken(forEmptyClient, '')).valid).toBe(true);
        expect((await stores.tokens.validateToken(forEmptyClient, 'client-a')).valid).toBe(false);
        expect(await stores.tokens.rotateToken(forEmptyClient, '')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      });
    });

    describe('clients', () => {
      test('a registered client is found with its metadata and defaults, then deleted once', async () => {
        const result = await stores.clients.registerClient(CLIENT_REQUEST);
        expect(result.success).toBe(true);
        const client = result.client!;
        expect(client).toMatchObject({
          client_name: 'Contract app',
          redirect_uris: CLIENT_REQUEST.redirect_uris,
          response_types: ['code'],
          grant_types: ['authorization_code', 'refresh_token'],
          token_endpoint_auth_method: 'none',
        });
        expect(await stores.clients.getClient(client.client_id)).toEqual(client);
        expect(await stores.clients.deleteClient(client.client_id)).toBe(true);
        expect(await stores.clients.deleteClient(client.client_id)).toBe(false);
        expect(await stores.clients.getClient(client.client_id)).toBeNull();
      });

      test('registration refusals carry the RFC 7591 error codes and store nothing', async () => {
        expect(await stores.clients.registerClient({ client_name: '', redirect_uris: ['https://app.example/callback'] })).toMatchObject({
          success: false,
          error: 'invalid_client_metadata',
        });
        expect(await stores.clients.registerClient({ client_name: 'x', redirect_uris: ['https://evil.example/cb'] })).toMatchObject({
          success: false,
          error: 'invalid_redirect_uri',
        });
        expect(await stores.clients.registerClient({ client_name: 'x', redirect_uris: [] })).toMatchObject({ success: false, error: 'invalid_redirect_uri' });
      });

      test('redirect URIs match exactly, loopback callbacks on any port, and never for an unknown client', async () => {
        const { client } = await stores.clients.registerClient(CLIENT_REQUEST);
        const id = client!.client_id;
        expect(await stores.clients.isValidRedirectUri(id, 'https://app.example/callback')).toBe(true);
        expect(await stores.clients.isValidRedirectUri(id, 'http://127.0.0.1:49152/callback')).toBe(true);
        expect(await stores.clients.isValidRedirectUri(id, 'https://app.example/other')).toBe(false);
        expect(await stores.clients.isValidRedirectUri('no-such-client', 'https://app.example/callback')).toBe(false);
      });
    });
  });
}
