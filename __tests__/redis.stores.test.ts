/**
 * What only the Redis backend promises: expiry by Redis, nothing secret in key
 * names or values, hashed and bound records, prefixes, names derived from the
 * secret shared by processes' services, NOSCRIPT recovery, checks at the door and typed errors.
 * A private redis-server; never a mock.
 */
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { RedisBackend } from '../lib/redis/redis-backend.js';
import { RedisClientStore } from '../lib/redis/redis-client-store.js';
import { RedisRefreshTokenStore } from '../lib/redis/redis-refresh-token-store.js';
import { RedisSessionStore } from '../lib/redis/redis-session-store.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { RECORD_LIMITS } from '../lib/stores/record-rules.js';
import { connectClient, startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { createService, makeTempDir, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectClient>>;
let dir: string;
let service: EncryptionService;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectClient(server.url);
  dir = makeTempDir();
  service = await createService(dir);
});

afterAll(async () => {
  await client.close();
  await server.stop();
  removeTempDir(dir);
});

const send = (args: string[]): Promise<unknown> => client.sendCommand(args);

function backendFor(options: { keyPrefix?: string; encryptionService?: EncryptionService; commandTimeoutMs?: number } = {}): RedisBackend {
  return new RedisBackend({ sendCommand: send, encryptionService: service, keyPrefix: `stores-${(prefixes += 1)}:`, ...options });
}

async function keysOf(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await send(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [string, string[]];
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

async function expiredKeys(): Promise<number> {
  const info = String(await send(['INFO', 'stats']));
  return Number(/expired_keys:(\d+)/.exec(info)?.[1]);
}

describe('expiry is Redis\'s job: no sweeper', () => {
  test('a session key expires at exactly its expiresAt, and once past it Redis has removed it', async () => {
    const backend = backendFor();
    const sessions = new RedisSessionStore(backend, { sessionExpiryMs: 250 });
    const session = await sessions.createSession('user-expiring');
    const [key] = await keysOf(`${backend.keyPrefix}s:`);
    expect(Number(await send(['PEXPIRETIME', key!]))).toBe(session.expiresAt);
    const expiredBefore = await expiredKeys();
    // A real wait is the point here: Redis's clock, not a fake one, must pass expiresAt.
    await new Promise((resolve) => setTimeout(resolve, session.expiresAt - Date.now() + 30));
    expect(await send(['EXISTS', key!])).toBe(0);
    expect(await expiredKeys()).toBeGreaterThan(expiredBefore);
    expect(await sessions.getSession(session.sessionId)).toBeNull();
  });

  test('a token key expires at its expires_at, and the client index lives as long as its longest token', async () => {
    const backend = backendFor();
    const short = new RedisRefreshTokenStore(backend, { expirySeconds: 60 });
    const long = new RedisRefreshTokenStore(backend, { expirySeconds: 3600 });
    const token = await long.generateToken({ clientId: 'c', userId: 'u', scope: '' });
    await short.generateToken({ clientId: 'c', userId: 'u', scope: '' });
    const { tokenData } = await long.validateToken(token, 'c');
    const names = await backend.names();
    expect(Number(await send(['PEXPIRETIME', names.token(token)]))).toBe(tokenData!.expires_at);
    expect(Number(await send(['PEXPIRETIME', names.clientTokenIndex('c')]))).toBeGreaterThanOrEqual(tokenData!.expires_at - 5);
  });
});

test('cleanup forgets index entries of tokens Redis already expired, without counting them, and deletes rotated ones', async () => {
  const backend = backendFor();
  const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 3600 });
  const names = await backend.names();
  const [expiring, rotating, live] = await Promise.all([1, 2, 3].map(() => tokens.generateToken({ clientId: 'c', userId: 'u', scope: '' })));
  const next = await tokens.rotateToken(rotating!, 'c');
  await send(['PEXPIRE', names.token(expiring!), '1']);
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await send(['SCARD', names.clientTokenIndex('c')])).toBe(4);
  expect(await tokens.cleanup()).toBe(1);
  expect(((await send(['SMEMBERS', names.clientTokenIndex('c')])) as string[]).sort()).toEqual([names.token(live!), names.token(next!)].sort());
});

describe('nothing secret in Redis in clear (NFR-4)', () => {
  test('no key name and no stored byte holds a session id, token, client id, user id, scope or client name', async () => {
    const backend = backendFor();
    const sessions = new RedisSessionStore(backend);
    const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 3600 });
    const clients = new RedisClientStore(backend, { allowedRedirectUris: ['https://secret-app.example/cb'] });
    const session = await sessions.createSession('user-SECRET-alice');
    const { client: registered } = await clients.registerClient({ client_name: 'Secret Client Name', redirect_uris: ['https://secret-app.example/cb'] });
    const clientId = registered!.client_id;
    const token = await tokens.generateToken({ clientId, userId: 'user-SECRET-alice', scope: 'scope-SECRET' });
    const rotated = await tokens.rotateToken(token, clientId);
    const secrets = [session.sessionId, token, rotated!, clientId, 'user-SECRET-alice', 'scope-SECRET', 'Secret Client Name', 'secret-app', TEST_KEY];

    const keys = await keysOf(backend.keyPrefix);
    expect(keys.length).toBeGreaterThanOrEqual(5);
    const dump: string[] = [...keys];
    for (const key of keys) {
      const type = await send(['TYPE', key]);
      if (type === 'string') dump.push(String(await send(['GET', key])));
      else if (type === 'hash') dump.push(JSON.stringify(await send(['HGETALL', key])));
      else if (type === 'set') dump.push(JSON.stringify(await send(['SMEMBERS', key])));
      else throw new Error(`unexpected type ${String(type)}`);
      const serialized = await client.sendCommand(['DUMP', key], { typeMapping: { 36: Buffer } });
      dump.push(Buffer.isBuffer(serialized) ? serialized.toString('latin1') : String(serialized));
    }
    const everything = dump.join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).toContain(backend.keyPrefix);
  });

  test('a value copied onto another key is refused with ERR_REDIS_RECORD, not answered for the wrong session', async () => {
    const backend = backendFor();
    const sessions = new RedisSessionStore(backend);
    const victim = await sessions.createSession('victim');
    const attacker = await sessions.createSession('attacker');
    const names = await backend.names();
    await send(['COPY', names.session(attacker.sessionId), names.session(victim.sessionId), 'REPLACE']);
    await expect(sessions.getSession(victim.sessionId)).rejects.toMatchObject({ code: 'ERR_REDIS_RECORD', kind: 'session' });
  });

  test('a record the file store would drop (a string past the record limits) is refused with ERR_REDIS_RECORD, as the file store drops it', async () => {
    const backend = backendFor();
    const sessions = new RedisSessionStore(backend);
    const session = await sessions.createSession('user');
    const names = await backend.names();
    const oversized = { ...session, userId: 'u'.repeat(RECORD_LIMITS.maxStringLength + 1) };
    await send(['SET', names.session(session.sessionId), await service.encrypt(JSON.stringify(oversized)), 'PX', '60000']);
    await expect(sessions.getSession(session.sessionId)).rejects.toMatchObject({ code: 'ERR_REDIS_RECORD', kind: 'session', message: expect.stringContaining('wrong shape') });
  });
});

describe('sharing one Redis', () => {
  test('another service with the same secret (another process) reads what this one wrote, with names derived from the shared secret', async () => {
    const prefix = `shared-${(prefixes += 1)}:`;
    const other = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: `${dir}/other-key`, durable: false });
    await other.initialize();
    const mine = new RedisSessionStore(backendFor({ keyPrefix: prefix }));
    const theirs = new RedisSessionStore(backendFor({ keyPrefix: prefix, encryptionService: other }));
    const session = await mine.createSession('user-shared');
    expect(await theirs.getSession(session.sessionId)).toEqual(session);
  });

  test('a service with another secret cannot read the records: ERR_DECRYPT, never data', async () => {
    const prefix = `foreign-${(prefixes += 1)}:`;
    const foreign = new EncryptionService({ encryptionKey: 'another-secret-entirely', keyStoragePath: `${dir}/foreign-key`, durable: false });
    await foreign.initialize();
    const mine = backendFor({ keyPrefix: prefix });
    const theirs = backendFor({ keyPrefix: prefix, encryptionService: foreign });
    const session = await new RedisSessionStore(mine).createSession('user');
    // Other names (derived from the other secret): the record is not even found.
    expect(await new RedisSessionStore(theirs).getSession(session.sessionId)).toBeNull();
    // Copied onto the name the other secret computes, the value still does not open.
    await send(['COPY', (await mine.names()).session(session.sessionId), (await theirs.names()).session(session.sessionId)]);
    await expect(new RedisSessionStore(theirs).getSession(session.sessionId)).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
  });

  test('two prefixes on one Redis never see each other, and every key starts with its prefix', async () => {
    const first = backendFor({ keyPrefix: 'app-one:' });
    const second = backendFor({ keyPrefix: 'app-two:' });
    const session = await new RedisSessionStore(first).createSession('user');
    expect(await new RedisSessionStore(second).getSession(session.sessionId)).toBeNull();
    expect((await keysOf('app-one:')).length).toBe(1);
    expect(await keysOf('app-two:')).toEqual([]);
  });
});

describe('scripts and errors', () => {
  test('after SCRIPT FLUSH (as after a restart) rotation falls back from EVALSHA to EVAL and still rotates once', async () => {
    const tokens = new RedisRefreshTokenStore(backendFor(), { expirySeconds: 60 });
    const token = await tokens.generateToken({ clientId: 'c', userId: 'u', scope: 's' });
    await send(['SCRIPT', 'FLUSH']);
    const results = await Promise.all([tokens.rotateToken(token, 'c'), tokens.rotateToken(token, 'c')]);
    expect(results.filter((result) => result !== null)).toHaveLength(1);
  });

  test('a server that does not answer in time rejects with ERR_REDIS_TIMEOUT', async () => {
    const paused = await connectClient(server.url);
    const sessions = new RedisSessionStore(new RedisBackend({ sendCommand: (args) => paused.sendCommand(args), encryptionService: service, commandTimeoutMs: 100 }));
    await sessions.createSession('warm-up');
    await send(['CLIENT', 'PAUSE', '400', 'ALL']);
    await expect(sessions.createSession('user')).rejects.toMatchObject({ code: 'ERR_REDIS_TIMEOUT', command: 'SET', timeoutMs: 100 });
    await send(['CLIENT', 'UNPAUSE']);
    await paused.close();
  });

  test('a closed client rejects with ERR_REDIS_UNAVAILABLE', async () => {
    const closed = await connectClient(server.url);
    await closed.close();
    const sessions = new RedisSessionStore(new RedisBackend({ sendCommand: (args) => closed.sendCommand(args), encryptionService: service }));
    await expect(sessions.getSession('a'.repeat(64))).rejects.toMatchObject({ code: 'ERR_REDIS_UNAVAILABLE' });
  });

  test('an error reply from Redis rejects with ERR_REDIS_REPLY and its prefix, never the key or value', async () => {
    const backend = backendFor();
    const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 60 });
    const names = await backend.names();
    await send(['SET', names.token('t'.repeat(64)), 'not a hash']);
    const error = await tokens.validateToken('t'.repeat(64), 'c').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'ERR_REDIS_REPLY', redisCode: 'WRONGTYPE', command: 'HMGET' });
    expect(String((error as Error).message)).not.toContain(backend.keyPrefix);
  });
});

describe('checks at the door: a record the readers would refuse is never written', () => {
  test.each([
    ['createSession(non-string)', (b: RedisBackend) => new RedisSessionStore(b).createSession(42 as unknown as string), 'userId'],
    ['generateToken without scope', (b: RedisBackend) => new RedisRefreshTokenStore(b, { expirySeconds: 60 }).generateToken({ clientId: 'c', userId: 'u' } as never), 'options.scope'],
  ])('%s rejects with ERR_INVALID_ARGUMENT naming the field, and writes nothing', async (_name, act, argument) => {
    const backend = backendFor();
    await expect(act(backend)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument });
    expect(await keysOf(backend.keyPrefix)).toEqual([]);
  });

  test.each([
    ['sessionExpiryMs as a string', () => new RedisSessionStore(backendFor(), { sessionExpiryMs: '1000' as unknown as number }), () => new PersistentSessionStore(service, `${dir}/s.enc`, { sessionExpiryMs: '1000' as unknown as number })],
    ['sessionExpiryMs: Infinity', () => new RedisSessionStore(backendFor(), { sessionExpiryMs: Infinity }), () => new PersistentSessionStore(service, `${dir}/s.enc`, { sessionExpiryMs: Infinity })],
    ['session options: null', () => new RedisSessionStore(backendFor(), null as never), () => new PersistentSessionStore(service, `${dir}/s.enc`, null as never)],
    ['expirySeconds: -1', () => new RedisRefreshTokenStore(backendFor(), { expirySeconds: -1 }), () => new PersistentRefreshTokenStore({ expirySeconds: -1 }, service, `${dir}/t.enc`)],
    ['expirySeconds missing', () => new RedisRefreshTokenStore(backendFor(), {} as never), () => new PersistentRefreshTokenStore({} as never, service, `${dir}/t.enc`)],
    ['token config: null', () => new RedisRefreshTokenStore(backendFor(), null as never), () => new PersistentRefreshTokenStore(null as never, service, `${dir}/t.enc`)],
    ['allowedRedirectUris missing', () => new RedisClientStore(backendFor(), {} as never), () => new PersistentClientStore({} as never, service, `${dir}/c.enc`)],
    ['trustedRedirectUris not strings', () => new RedisClientStore(backendFor(), { allowedRedirectUris: [], trustedRedirectUris: [1] as never }), () => new PersistentClientStore({ allowedRedirectUris: [], trustedRedirectUris: [1] as never }, service, `${dir}/c.enc`)],
  ])('a bad option (%s) throws what the file store throws: same class, code and option', (_name, redis, file) => {
    const shape = (construct: () => unknown): Record<string, unknown> => {
      try {
        construct();
      } catch (error) {
        const { name, code, argument, option } = error as Record<string, unknown>;
        return { name, code, argument, option };
      }
      throw new Error('did not throw');
    };
    const expected = shape(file);
    expect(expected.code).toMatch(/^ERR_(INVALID_ARGUMENT|OPTION_RANGE)$/);
    expect(shape(redis)).toEqual(expected);
  });

  test('a bad backend option throws ERR_INVALID_ARGUMENT or ERR_OPTION_RANGE naming it', () => {
    expect(() => new RedisBackend({ sendCommand: send, encryptionService: service, commandTimeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OPTION_RANGE', option: 'commandTimeoutMs' }));
    expect(() => new RedisBackend({ sendCommand: 'no' as never, encryptionService: service })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'options.sendCommand' }));
  });

  test('fractional expiries (sessionExpiryMs: 10.5, expirySeconds: 1.0005) are accepted as by the file stores, and Redis gets whole ms rounded up', async () => {
    const backend = backendFor();
    const session = await new RedisSessionStore(backend, { sessionExpiryMs: 100_000.5 }).createSession('user');
    expect(Number.isInteger(session.expiresAt)).toBe(false);
    const names = await backend.names();
    expect(Number(await send(['PEXPIRETIME', names.session(session.sessionId)]))).toBe(Math.ceil(session.expiresAt));
    expect(await new RedisSessionStore(backend).getSession(session.sessionId)).toEqual(session);
    await expect(new RedisSessionStore(backend, { sessionExpiryMs: 10.5 }).createSession('user')).resolves.toMatchObject({ userId: 'user' });

    const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 1.0005 });
    const token = await tokens.generateToken({ clientId: 'c', userId: 'u', scope: '' });
    const { tokenData } = await tokens.validateToken(token, 'c');
    expect(Number.isInteger(tokenData!.expires_at)).toBe(false);
    expect(Number(await send(['PEXPIRETIME', names.token(token)]))).toBe(Math.ceil(tokenData!.expires_at));
    const next = await tokens.rotateToken(token, 'c');
    expect(next).not.toBeNull();
    const rotated = await tokens.validateToken(next!, 'c');
    expect(Number(await send(['PEXPIRETIME', names.token(next!)]))).toBe(Math.ceil(rotated.tokenData!.expires_at));
  });

  test('lookups with ids that cannot exist find nothing without asking Redis', async () => {
    const backend = backendFor();
    expect(await new RedisSessionStore(backend).getSession(undefined as unknown as string)).toBeNull();
    expect(await new RedisRefreshTokenStore(backend, { expirySeconds: 60 }).rotateToken(7 as unknown as string, 'c')).toBeNull();
    expect(await new RedisClientStore(backend, { allowedRedirectUris: [] }).getClient(null as unknown as string)).toBeNull();
  });
});

describe('prefixes: cleanup() touches only its own keys', () => {
  async function dump(prefix: string): Promise<Record<string, unknown>> {
    const entries: Record<string, unknown> = {};
    for (const key of (await keysOf(prefix)).sort()) {
      const type = await send(['TYPE', key]);
      entries[key] = type === 'set' ? ((await send(['SMEMBERS', key])) as string[]).sort() : type === 'hash' ? await send(['HGETALL', key]) : await send(['GET', key]);
    }
    return entries;
  }

  test('an empty keyPrefix is refused at construction with ERR_REDIS_KEY_PREFIX', () => {
    expect(() => new RedisBackend({ sendCommand: send, encryptionService: service, keyPrefix: '' })).toThrow(
      expect.objectContaining({ name: 'RedisKeyPrefixError', code: 'ERR_REDIS_KEY_PREFIX' }),
    );
  });

  test('with nested prefixes (app: and app:ti:) the outer cleanup neither fails (WRONGTYPE) nor touches the inner keys', async () => {
    const outerPrefix = `nest-${(prefixes += 1)}:`;
    const innerPrefix = `${outerPrefix}ti:`;
    const outer = new RedisRefreshTokenStore(backendFor({ keyPrefix: outerPrefix }), { expirySeconds: 3600 });
    const innerBackend = backendFor({ keyPrefix: innerPrefix });
    const inner = new RedisRefreshTokenStore(innerBackend, { expirySeconds: 3600 });
    await new RedisSessionStore(innerBackend).createSession('user');
    await outer.rotateToken(await outer.generateToken({ clientId: 'c', userId: 'u', scope: '' }), 'c');
    const innerToken = await inner.generateToken({ clientId: 'c', userId: 'u', scope: '' });
    await inner.rotateToken(innerToken, 'c');
    // The outer prefix's own indexes (`nest-N:ti:<digest>`) start with the inner prefix too; the inner keys are `nest-N:ti:<kind>:…`.
    const innerKeys = async (): Promise<Record<string, unknown>> => Object.fromEntries(Object.entries(await dump(innerPrefix)).filter(([key]) => key.slice(innerPrefix.length).includes(':')));
    const innerBefore = await innerKeys();
    expect(Object.keys(innerBefore).length).toBe(4);
    expect(await outer.cleanup()).toBe(1);
    expect(await innerKeys()).toEqual(innerBefore);
    expect(await inner.cleanup()).toBe(1);
  });

  test("keys under the index pattern that are not this prefix's indexes (another app's set, a string, foreign members) are never touched", async () => {
    const backend = backendFor();
    const prefix = backend.keyPrefix;
    const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 3600 });
    await tokens.rotateToken(await tokens.generateToken({ clientId: 'c', userId: 'u', scope: '' }), 'c');
    const digestShaped = `${prefix}ti:${'A'.repeat(43)}`;
    const otherDigestShaped = `${prefix}ti:${'B'.repeat(43)}`;
    await send(['SADD', `${prefix}ti:online-users`, 'alice', 'bob']);
    await send(['SET', digestShaped, 'a string, not an index']);
    await send(['SADD', otherDigestShaped, 'alice', `other-app:t:${'C'.repeat(43)}`]);
    const foreign = [`${prefix}ti:online-users`, digestShaped, otherDigestShaped];
    const before = await Promise.all(foreign.map((key) => send(['DUMP', key])));
    expect(await tokens.cleanup()).toBe(1);
    const after = await Promise.all(foreign.map((key) => send(['DUMP', key])));
    expect(after).toEqual(before);
    expect(((await send(['SMEMBERS', `${prefix}ti:online-users`])) as string[]).sort()).toEqual(['alice', 'bob']);
  });
});
