/**
 * Validation at the door (issue 9, item 5; issue 10, defects 6 and 8): the
 * stores refuse data their loader would refuse, with a typed error naming
 * the field and never the value; lookups answer as the original did; the
 * record rules bound what loads so it can be written back; and a store's
 * path is fixed at construction.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as fc from 'fast-check';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { isOAuthClient, isRefreshToken, isUserSession, RECORD_LIMITS } from '../lib/stores/record-rules.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { createService, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir } from './helpers/store-harness.js';

let dir: string;
let service: EncryptionService;
const logger = recordingStoreLogger();

beforeEach(async () => {
  dir = makeTempDir();
  service = await createService(dir);
});

afterEach(async () => {
  await service.waitForPendingWrites();
  removeTempDir(dir);
});

const file = (name: string): string => path.join(dir, name);
const newSessions = (options = {}): PersistentSessionStore => new PersistentSessionStore(service, file('sessions.enc'), { logger, ...options });
const newTokens = (): PersistentRefreshTokenStore => new PersistentRefreshTokenStore({ expirySeconds: 3600, logger }, service, file('tokens.enc'));
const newClients = (): PersistentClientStore => new PersistentClientStore({ allowedRedirectUris: ['*'], logger }, service, file('clients.enc'));
const asideFiles = (): string[] => fs.readdirSync(dir).filter((name) => name.includes('.corrupt-'));

/** A value that stands for a secret: no message may carry it. */
const SECRET = 'S3CR3T-'.repeat(10_000);

function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('one bad record used to cost the whole file on restart (FR-3.3, NFR-8)', () => {
  test('a token with scope undefined is rejected with ERR_INVALID_ARGUMENT and the 100 good ones survive a restart', async () => {
    const tokens = newTokens();
    const good = await Promise.all(Array.from({ length: 100 }, (_, i) => tokens.generateToken({ clientId: 'c', userId: `u${i}`, scope: 'openid' })));
    await expect(tokens.generateToken({ clientId: 'c', userId: 'u', scope: undefined as never })).rejects.toMatchObject({
      name: 'InvalidArgumentError', code: 'ERR_INVALID_ARGUMENT', argument: 'options.scope',
    });
    await tokens.flush();
    const restarted = newTokens();
    await restarted.loadFromStorage();
    expect(restarted.getMetrics().count).toBe(100);
    for (const token of good) expect((await restarted.validateToken(token, 'c')).valid).toBe(true);
    expect(asideFiles()).toEqual([]);
  });

  test('a session for a non-string user id throws ERR_INVALID_ARGUMENT and the good sessions survive a restart', async () => {
    const sessions = newSessions();
    const good = Array.from({ length: 10 }, (_, i) => sessions.createSession(`user-${i}`));
    expect(thrown(() => sessions.createSession(42 as never))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'userId' });
    expect(sessions.getMetrics().count).toBe(10);
    await sessions.flush();
    const restarted = newSessions();
    await restarted.loadFromStorage();
    for (const session of good) expect(restarted.getSession(session.sessionId)).toEqual(session);
    expect(asideFiles()).toEqual([]);
  });

  test('sessionExpiryMs given as a string is refused at construction with ERR_OPTION_RANGE; nothing reaches the file', () => {
    expect(thrown(() => newSessions({ sessionExpiryMs: '1000' }))).toMatchObject({ code: 'ERR_OPTION_RANGE', option: 'sessionExpiryMs' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('every method that stores data checks it where it comes in', () => {
  test.each<[string, unknown, string]>([
    ['a number', 42, 'userId'],
    ['undefined', undefined, 'userId'],
    ['an object', { id: 'x' }, 'userId'],
    ['a string beyond the record limit', SECRET, 'userId'],
  ])('createSession with %s throws ERR_INVALID_ARGUMENT naming the field, never the value', (_, userId, argument) => {
    const sessions = newSessions();
    const error = thrown(() => sessions.createSession(userId as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument });
    expect((error as Error).message).toMatch(/^userId must be a string of at most 65536 characters; got /);
    expect((error as Error).message).not.toContain('S3CR3T');
    expect(sessions.getMetrics().count).toBe(0);
  });

  test.each<[string, unknown, string]>([
    ['no options', undefined, 'options'],
    ['null options', null, 'options'],
    ['a numeric clientId', { clientId: 7, userId: 'u', scope: '' }, 'options.clientId'],
    ['a missing userId', { clientId: 'c', scope: '' }, 'options.userId'],
    ['a scope list instead of a string', { clientId: 'c', userId: 'u', scope: ['a', 'b'] }, 'options.scope'],
    ['a secret-sized user id', { clientId: 'c', userId: SECRET, scope: '' }, 'options.userId'],
  ])('generateToken with %s rejects with ERR_INVALID_ARGUMENT naming the field', async (_, options, argument) => {
    const tokens = newTokens();
    const error = await tokens.generateToken(options as never).then(() => undefined, (reason: unknown) => reason);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument });
    expect((error as Error).message).not.toContain('S3CR3T');
    expect(tokens.getMetrics().count).toBe(0);
    expect(tokens.hasUnsavedChanges()).toBe(false);
  });

  test('generateToken with scope "" (what a server sends for no scope) is served', async () => {
    const tokens = newTokens();
    const token = await tokens.generateToken({ clientId: 'c', userId: 'u', scope: '' });
    expect((await tokens.validateToken(token, 'c')).tokenData).toMatchObject({ scope: '' });
  });

  test.each<[string, unknown, string]>([
    ['null', null, 'invalid_client_metadata'],
    ['an array', [], 'invalid_client_metadata'],
    ['a client_name beyond the record limit', { client_name: SECRET, redirect_uris: ['https://a.example/cb'] }, 'invalid_client_metadata'],
    ['1,001 redirect URIs', { client_name: 'A', redirect_uris: Array.from({ length: 1001 }, (_, i) => `https://a.example/${i}`) }, 'invalid_redirect_uri'],
    ['a redirect URI beyond the record limit', { client_name: 'A', redirect_uris: [`https://a.example/${SECRET}`] }, 'invalid_redirect_uri'],
    ['a grant type that is an object', { client_name: 'A', redirect_uris: ['https://a.example/cb'], grant_types: [{}] }, 'invalid_client_metadata'],
  ])('registerClient with %s answers with its RFC 7591 §3.2.2 error and writes nothing', async (_, request, error) => {
    const clients = newClients();
    const result = await clients.registerClient(request as never);
    expect(result).toEqual({ success: false, error, errorDescription: expect.any(String) });
    expect(result.errorDescription).not.toContain('S3CR3T');
    expect(clients.getMetrics().count).toBe(0);
    expect(fs.existsSync(file('clients.enc'))).toBe(false);
  });

  test('registerClient treats null and empty optional fields as absent, as the original did', async () => {
    const { client } = await newClients().registerClient({
      client_name: 'A', redirect_uris: ['https://a.example/cb'], response_types: null, grant_types: null, token_endpoint_auth_method: '',
    } as never);
    expect(client).toMatchObject({ response_types: ['code'], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none' });
  });

  test.each<[string, () => unknown, string]>([
    ['a session store with a numeric storagePath', () => new PersistentSessionStore(service, 42 as never), 'storagePath'],
    ['a session store with a NUL in its path', () => new PersistentSessionStore(service, 'a\0b'), 'storagePath'],
    ['a session store with null options', () => new PersistentSessionStore(service, undefined, null as never), 'options'],
    ['a session store without a service', () => new PersistentSessionStore(undefined as never, 'x'), 'encryptionService'],
    ['a session store with a null service', () => new PersistentSessionStore(null as never, 'x'), 'encryptionService'],
    ['a token store without a config', () => new PersistentRefreshTokenStore(undefined as never, service), 'config'],
    ['a client store without allowedRedirectUris', () => new PersistentClientStore({} as never, service), 'config.allowedRedirectUris'],
    ['a client store with trusted URIs that are not strings', () => new PersistentClientStore({ allowedRedirectUris: [], trustedRedirectUris: [1] } as never, service), 'config.trustedRedirectUris'],
  ])('%s throws ERR_INVALID_ARGUMENT naming it', (_, make, argument) => {
    expect(thrown(make)).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument });
  });
});

describe('errors say what was expected, never what was given (NFR-4)', () => {
  test('a store without a service, and one with a path holding a NUL, name the argument and what it must be', () => {
    expect(thrown(() => new PersistentSessionStore(null as never, 'x'))).toMatchObject({
      message: 'encryptionService must be an EncryptionService; got null',
    });
    expect((thrown(() => new PersistentSessionStore(service, 'S3CR3T\0')) as Error).message).toBe(
      'storagePath must be a file path (a string without NUL characters); got a string of 7 characters',
    );
  });
});

describe('lookups answer as the original: a key that is not a string names nothing (a request may omit it)', () => {
  test('getSession, deleteSession, validateToken, rotateToken, revokeToken, getClient, deleteClient, isValidRedirectUri', async () => {
    const sessions = newSessions();
    const tokens = newTokens();
    const clients = newClients();
    const { client } = await clients.registerClient({ client_name: 'A', redirect_uris: ['https://a.example/cb'] });
    const token = await tokens.generateToken({ clientId: client!.client_id, userId: 'u', scope: '' });
    expect(sessions.getSession(undefined as never)).toBeNull();
    expect(() => sessions.deleteSession(undefined as never)).not.toThrow();
    expect(await tokens.validateToken(undefined as never, client!.client_id)).toEqual({ valid: false, error: 'invalid_grant' });
    expect(await tokens.validateToken(token, undefined as never)).toEqual({ valid: false, error: 'invalid_grant' });
    expect(await tokens.rotateToken(token, undefined as never)).toBeNull();
    await tokens.revokeToken(undefined as never);
    expect(await clients.getClient(undefined as never)).toBeNull();
    expect(await clients.deleteClient(undefined as never)).toBe(false);
    expect(await clients.isValidRedirectUri(client!.client_id, undefined as never)).toBe(false);
    expect({ sessions: sessions.getMetrics().count, tokens: tokens.getMetrics().count, clients: clients.getMetrics().count }).toEqual({
      sessions: 0, tokens: 1, clients: 1,
    });
  });
});

/** A JSON value nested `depth` levels deep, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < depth; level += 1) value = { next: value };
  return value;
}

describe('record rules: whatever loads can be written back (FR-3.3)', () => {
  const session = { sessionId: 'a'.repeat(64), userId: 'u', createdAt: 1, expiresAt: 2 };

  test('extra fields are accepted within the limits and refused beyond them, without deep recursion', () => {
    expect(isUserSession({ ...session, extra: nested(RECORD_LIMITS.maxExtraDepth) })).toBe(true);
    expect(isUserSession({ ...session, extra: nested(RECORD_LIMITS.maxExtraDepth + 1) })).toBe(false);
    expect(isUserSession({ ...session, extra: nested(20_000) })).toBe(false);
    const manyExtras = Object.fromEntries(Array.from({ length: RECORD_LIMITS.maxExtraFields + 1 }, (_, i) => [`x${i}`, i]));
    expect(isUserSession({ ...session, ...manyExtras })).toBe(false);
    expect(isUserSession({ ...session, extra: Array.from({ length: 20 }, () => Array.from({ length: 1000 }, () => 0)) })).toBe(false);
    expect(isUserSession({ ...session, userId: 'u'.repeat(RECORD_LIMITS.maxStringLength + 1) })).toBe(false);
    expect(isRefreshToken({ token: 't', client_id: 'c', user_id: 'u', scope: undefined, created_at: 1, expires_at: 2, rotated: false })).toBe(false);
    expect(isOAuthClient({
      client_id: 'c', client_name: 'n', redirect_uris: ['https://a.example/cb'], response_types: ['code'], grant_types: [],
      token_endpoint_auth_method: 'none', client_id_issued_at: 1, client_secret: 'kept', contacts: ['a@example.com'],
    })).toBe(true);
  });

  test.each<[string, string, string, Record<string, unknown>]>([
    ['sessions', 'sessions.enc', 'sessions', { ...session, expiresAt: Date.now() + 60_000 }],
    ['clients', 'clients.enc', 'clients', {
      client_id: 'c', client_name: 'n', redirect_uris: ['https://a.example/cb'], response_types: ['code'], grant_types: [],
      token_endpoint_auth_method: 'none', client_id_issued_at: 1,
    }],
  ])('a %s file holding a field nested 20,000 deep loads, and flush() writes a file that loads again', async (kind, name, field, record) => {
    // Written as text: JSON.stringify itself overflows the stack at this depth, which is the defect.
    const deep = `${'{"next":'.repeat(20_000)}"leaf"${'}'.repeat(20_000)}`;
    const text = `{"version":1,"${field}":[${JSON.stringify(record).slice(0, -1)},"extra":${deep}}]}`;
    await service.encryptToFile(text, file(name));
    const store = kind === 'sessions' ? newSessions() : newClients();
    await expect(store.loadFromStorage()).resolves.toBeUndefined();
    if (store instanceof PersistentSessionStore) store.createSession('after');
    else await store.registerClient({ client_name: 'after', redirect_uris: ['https://a.example/cb'] });
    await expect(store.flush()).resolves.toBeUndefined();
    const reloaded = kind === 'sessions' ? newSessions() : newClients();
    await reloaded.loadFromStorage();
    expect(reloaded.getMetrics().count).toBeGreaterThanOrEqual(1);
  });

  test('a record with bounded extra fields round-trips: load, change, flush, and the extras are on disk as they were', async () => {
    const extra = { nested: nested(5), list: [1, 'two', null, true] };
    await service.encryptToFile(JSON.stringify({ version: 1, sessions: [{ ...session, expiresAt: Date.now() + 60_000, extra }] }), file('sessions.enc'));
    const sessions = newSessions();
    await sessions.loadFromStorage();
    sessions.createSession('another');
    await sessions.flush();
    const onDisk = (await readStoreFile(service, file('sessions.enc')))!.sessions as Record<string, unknown>[];
    expect(onDisk.find((record) => record['sessionId'] === session.sessionId)).toEqual({ ...session, expiresAt: expect.any(Number), extra });
  });

  test('property: whatever a store accepts passes its own loader\'s guard', async () => {
    const anything = fc.oneof(fc.string(), fc.integer(), fc.constant(undefined), fc.constant(null), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }));
    const sessions = newSessions({ maxSessions: Infinity });
    const tokens = newTokens();
    const clients = newClients();
    await fc.assert(
      fc.asyncProperty(anything, anything, anything, anything, async (a, b, c, d) => {
        try {
          expect(isUserSession(sessions.createSession(a as never))).toBe(true);
        } catch (error) {
          expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
        }
        const token = await tokens.generateToken({ clientId: a, userId: b, scope: c } as never).catch((error: unknown) => {
          expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
          return undefined;
        });
        if (token !== undefined) expect(isRefreshToken((await tokens.validateToken(token, a as string)).tokenData)).toBe(true);
        const result = await clients.registerClient({ client_name: a, redirect_uris: ['https://a.example/cb'], response_types: b, grant_types: c, token_endpoint_auth_method: d } as never);
        if (result.success) expect(isOAuthClient(result.client)).toBe(true);
        else expect(result.error).toBe('invalid_client_metadata');
      }),
      { numRuns: 60 },
    );
  });
});

describe('paths are resolved once, at construction (FR-2.1)', () => {
  test('after process.chdir a store with a relative path still writes its original file', async () => {
    const original = process.cwd();
    const elsewhere = path.join(dir, 'elsewhere');
    fs.mkdirSync(elsewhere);
    try {
      process.chdir(dir);
      const sessions = new PersistentSessionStore(service, 'relative.enc', { logger });
      process.chdir(elsewhere);
      const session = sessions.createSession('u');
      await sessions.flush();
      expect(fs.readdirSync(elsewhere)).toEqual([]);
      expect((await readStoreFile(service, file('relative.enc')))!.sessions).toEqual([session]);
    } finally {
      process.chdir(original);
    }
  });

  test.each<[string, string | null]>([
    ['an empty path', ''],
    ['a null path', null],
  ])('%s means the default file, as in the original (FR-3.1)', async (_, storagePath) => {
    // The default ~/.sage must land in this test's directory, never the real home.
    const homedir = jest.spyOn(os, 'homedir').mockReturnValue(dir);
    try {
      const sessions = new PersistentSessionStore(service, storagePath as string, { logger });
      const session = sessions.createSession('u');
      await sessions.flush();
      const defaultFile = path.join(dir, '.sage', 'oauth_sessions.enc');
      expect((await readStoreFile(service, defaultFile))!.sessions).toEqual([session]);
    } finally {
      homedir.mockRestore();
    }
  });
});
