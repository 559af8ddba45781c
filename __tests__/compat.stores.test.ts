/**
 * FR-3.1 drop-in: the three stores called as the original server calls them
 * (oauth-server.ts: construct with `storageBasePath` file names, load in
 * parallel after initialize(), register / authorise / exchange / refresh /
 * sessions, flush on shutdown, getMetrics), then a restart. Asserts the
 * original's observable results, formats and refusal texts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService, PersistentClientStore, PersistentRefreshTokenStore, PersistentSessionStore } from '../lib/index.js';
import { makeTempDir } from './helpers/common.js';

const CLAUDE = ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'];
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
let dir: string;
beforeEach(() => {
  dir = makeTempDir('ssm-compat-stores-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The original server's start: one service, three stores under one base path, loaded in parallel. */
async function startServer(allowedRedirectUris: string[] = []) {
  const encryption = new EncryptionService({ keyStoragePath: path.join(dir, 'oauth_encryption_key'), logger: silent });
  const tokens = new PersistentRefreshTokenStore({ expirySeconds: 30 * 24 * 3600 }, encryption, path.join(dir, 'oauth_refresh_tokens.enc'));
  const clients = new PersistentClientStore({ allowedRedirectUris: [...allowedRedirectUris, ...CLAUDE] }, encryption, path.join(dir, 'oauth_clients.enc'));
  const sessions = new PersistentSessionStore(encryption, path.join(dir, 'oauth_sessions.enc'));
  await encryption.initialize();
  await Promise.all([tokens.loadFromStorage(), clients.loadFromStorage(), sessions.loadFromStorage()]);
  return { encryption, tokens, clients, sessions, shutdown: () => Promise.all([tokens.flush(), clients.flush(), sessions.flush()]) };
}

describe('FR-3.1 client registration as the original', () => {
  test.each([
    [{ client_name: '', redirect_uris: ['http://localhost:1/callback'] }, 'invalid_client_metadata', 'client_name is required'],
    [{ client_name: 'App', redirect_uris: [] }, 'invalid_redirect_uri', 'redirect_uris is required'],
    [{ client_name: 'App', redirect_uris: ['https://evil.example/cb'] }, 'invalid_redirect_uri', 'redirect_uri not allowed: https://evil.example/cb'],
    [{ client_name: 'App', redirect_uris: ['http://localhost:3000/other'] }, 'invalid_redirect_uri', 'redirect_uri not allowed: http://localhost:3000/other'],
    [{ client_name: 'App', redirect_uris: ['http://[::1]:3000/callback'] }, 'invalid_redirect_uri', 'redirect_uri not allowed: http://[::1]:3000/callback'],
  ])('%j is refused with %s: %s', async (request, error, errorDescription) => {
    const { clients } = await startServer();
    expect(await clients.registerClient(request)).toEqual({ success: false, error, errorDescription });
  });

  test.each([
    [['http://app.example/callback'], ['http://app.example/callback'], 'redirect_uri must use HTTPS: http://app.example/callback'],
    [['not a uri'], ['*'], 'Invalid redirect_uri format: not a uri'],
  ])('listed %j under %j is refused with the original text', async (uris, allowed, errorDescription) => {
    const { clients } = await startServer(allowed);
    expect(await clients.registerClient({ client_name: 'App', redirect_uris: uris })).toEqual({ success: false, error: 'invalid_redirect_uri', errorDescription });
  });

  test("Claude's callbacks and loopback /callback URIs are accepted with no allowed list; ids are sage_ + 32 hex", async () => {
    const { clients } = await startServer();
    const result = await clients.registerClient({ client_name: 'Claude', redirect_uris: [...CLAUDE, 'http://127.0.0.1:33418/callback'] });
    expect(result.success).toBe(true);
    expect(result.client!.client_id).toMatch(/^sage_[0-9a-f]{32}$/);
    expect(await clients.getClient(result.client!.client_id)).toEqual(result.client);
    expect(await clients.getClient('sage_unknown')).toBeNull();
    expect(clients.getMetrics()).toEqual({ count: 1 });
  });
});

describe('FR-3.1 the OAuth flow of a loopback client, then a restart', () => {
  test('register, authorise from 127.0.0.1 on another port, exchange, refresh, sessions, shutdown, restart', async () => {
    const first = await startServer();
    const registered = await first.clients.registerClient({ client_name: 'Claude Code', redirect_uris: ['http://localhost:54545/callback'] });
    const clientId = registered.client!.client_id;

    // Authorization: the native client comes back on 127.0.0.1, another port, another /callback path.
    for (const uri of ['http://localhost:54545/callback', 'http://127.0.0.1:61000/callback', 'http://localhost:54545/oauth/callback']) {
      expect(await first.clients.isValidRedirectUri(clientId, uri)).toBe(true);
    }
    expect(await first.clients.isValidRedirectUri(clientId, 'https://evil.example/callback')).toBe(false);
    expect(await first.clients.isValidRedirectUri('sage_unknown', 'http://localhost:54545/callback')).toBe(false);

    // Login session for the consent screen.
    const session = first.sessions.createSession('user-1');
    expect(session.sessionId).toMatch(/^[0-9a-f]{64}$/);
    expect(session.expiresAt - session.createdAt).toBe(24 * 3600 * 1000);
    expect(first.sessions.getSession(session.sessionId)).toEqual(session);

    // Exchange: a refresh token; refresh: rotation, then validation of the new one (token-service's order).
    const refresh = await first.tokens.generateToken({ clientId, userId: 'user-1', scope: 'mcp:read mcp:write' });
    expect(refresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await first.tokens.validateToken(refresh, 'sage_other')).toEqual({ valid: false, error: 'invalid_grant' });
    const rotated = await first.tokens.rotateToken(refresh, clientId);
    expect(rotated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await first.tokens.rotateToken(refresh, clientId)).toBeNull();
    const validation = await first.tokens.validateToken(rotated!, clientId);
    expect(validation).toEqual({ valid: true, tokenData: expect.objectContaining({ token: rotated, client_id: clientId, user_id: 'user-1', scope: 'mcp:read mcp:write', rotated: false }) });
    expect(first.tokens.getMetrics()).toEqual({ count: 2, expiredCount: 0, rotatedCount: 1 });
    expect(await first.tokens.cleanup()).toBe(1);

    const gone = first.sessions.createSession('user-2');
    first.sessions.deleteSession(gone.sessionId);
    expect(first.sessions.getSession(gone.sessionId)).toBeNull();
    expect(first.sessions.getMetrics()).toEqual({ count: 1, expiredCount: 0 });

    await first.shutdown();
    expect(fs.readdirSync(dir).sort()).toEqual(['oauth_clients.enc', 'oauth_encryption_key', 'oauth_refresh_tokens.enc', 'oauth_sessions.enc']);

    const second = await startServer();
    expect(await second.clients.getClient(clientId)).toEqual(registered.client);
    expect(await second.clients.isValidRedirectUri(clientId, 'http://127.0.0.1:61001/callback')).toBe(true);
    expect((await second.tokens.validateToken(rotated!, clientId)).valid).toBe(true);
    expect(second.sessions.getSession(session.sessionId)).toEqual(session);
    expect(second.sessions.getSession(gone.sessionId)).toBeNull();

    // Revocation on client deletion, as the server's deleteClient does it.
    await second.tokens.revokeAllForClient(clientId);
    expect(await second.clients.deleteClient(clientId)).toBe(true);
    expect(await second.clients.deleteClient(clientId)).toBe(false);
    expect((await second.tokens.validateToken(rotated!, clientId)).valid).toBe(false);
    await second.shutdown();
  });

  test('the files hold the original plaintext layout: { version: 1, <records> }', async () => {
    const server = await startServer();
    server.sessions.createSession('user-1');
    await server.tokens.generateToken({ clientId: 'c', userId: 'u', scope: 's' });
    await server.clients.registerClient({ client_name: 'App', redirect_uris: ['http://localhost:1/callback'] });
    await server.shutdown();
    const read = async (name: string) => JSON.parse((await server.encryption.decryptFromFile(path.join(dir, name)))!);
    expect(await read('oauth_sessions.enc')).toEqual({ version: 1, sessions: [expect.objectContaining({ userId: 'user-1' })] });
    expect(await read('oauth_refresh_tokens.enc')).toEqual({ version: 1, tokens: [expect.objectContaining({ client_id: 'c', rotated: false })] });
    expect(await read('oauth_clients.enc')).toEqual({ version: 1, clients: [expect.objectContaining({ client_name: 'App' })] });
  });
});
