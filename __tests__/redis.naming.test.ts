/**
 * Key names come from the secret, not from Redis: hosts holding one secret
 * compute the same names with nothing stored, so a Redis that loses its data
 * (FLUSHALL, restart with an empty dataset) never splits them (NFR-4: the
 * names are still HMAC digests). A private redis-server; never a mock.
 */
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { internalsOf } from '../lib/encryption/service-internals.js';
import { RedisBackend } from '../lib/redis/redis-backend.js';
import { RedisRefreshTokenStore } from '../lib/redis/redis-refresh-token-store.js';
import { RedisSessionStore } from '../lib/redis/redis-session-store.js';
import { connectClient, startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { makeTempDir, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

let server: RedisServer;
let dir: string;
const clients: Awaited<ReturnType<typeof connectClient>>[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  dir = makeTempDir();
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await server.stop();
  removeTempDir(dir);
});

/** One host: its own service (same secret, own salt and key file path) and its own connection. */
async function host(name: string, secret = TEST_KEY): Promise<{ backend: RedisBackend; send: (args: string[]) => Promise<unknown> }> {
  const service = new EncryptionService({ encryptionKey: secret, keyStoragePath: `${dir}/${name}-key`, durable: false });
  await service.initialize();
  const client = await connectClient(server.url);
  clients.push(client);
  const send = (args: string[]): Promise<unknown> => client.sendCommand(args);
  return { backend: new RedisBackend({ sendCommand: send, encryptionService: service, keyPrefix: 'naming:' }), send };
}

async function allKeys(send: (args: string[]) => Promise<unknown>): Promise<string[]> {
  return (await send(['KEYS', '*'])) as string[];
}

test('two backends on one secret compute the same names, and nothing but records is stored (no meta key)', async () => {
  const a = await host('a-same');
  const b = await host('b-same');
  await a.send(['FLUSHALL']);
  const [namesA, namesB] = await Promise.all([a.backend.names(), b.backend.names()]);
  expect(namesA.session('sid')).toBe(namesB.session('sid'));
  expect(namesA.token('tok')).toBe(namesB.token('tok'));
  expect(namesA.clientTokenIndex('c')).toBe(namesB.clientTokenIndex('c'));
  expect(namesA.session('sid')).not.toContain('sid');
  const session = await new RedisSessionStore(a.backend).createSession('user');
  expect(await allKeys(a.send)).toEqual([namesA.session(session.sessionId)]);
});

test('namingKey: 32 bytes, the same for one secret in every service, another for another label or secret', async () => {
  const service = async (name: string, secret = TEST_KEY): Promise<EncryptionService> => {
    const created = new EncryptionService({ encryptionKey: secret, keyStoragePath: `${dir}/${name}-key`, durable: false });
    await created.initialize();
    return created;
  };
  const [one, two, other] = [internalsOf(await service('nk-1')), internalsOf(await service('nk-2')), internalsOf(await service('nk-3', 'another-secret'))];
  const key = one.namingKey('redis-key-hash/v1');
  expect(key).toHaveLength(32);
  expect(two.namingKey('redis-key-hash/v1').equals(key)).toBe(true);
  expect(one.namingKey('another-use/v1').equals(key)).toBe(false);
  expect(other.namingKey('redis-key-hash/v1').equals(key)).toBe(false);
});

test('another secret gives other names', async () => {
  const a = await host('a-other');
  const foreign = await host('b-other', 'another-secret-entirely');
  expect((await a.backend.names()).session('sid')).not.toBe((await foreign.backend.names()).session('sid'));
});

test('names() rejects with ERR_NOT_INITIALIZED before the service is initialised', async () => {
  const service = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: `${dir}/late-key`, durable: false });
  const backend = new RedisBackend({ sendCommand: () => Promise.resolve(null), encryptionService: service, keyPrefix: 'late:' });
  await expect(backend.names()).rejects.toMatchObject({ code: 'ERR_NOT_INITIALIZED' });
  await service.initialize();
  expect((await backend.names()).session('x')).toMatch(/^late:s:/);
});

test('after FLUSHALL a session or token created by one host is found by the other, both ways', async () => {
  const a = await host('a-flush');
  const sessionsA = new RedisSessionStore(a.backend);
  // A is warm (names already computed) when Redis loses everything; B starts afterwards.
  await sessionsA.createSession('warm-up');
  await a.send(['FLUSHALL']);
  const b = await host('b-flush');
  const sessionsB = new RedisSessionStore(b.backend);
  const fromA = await sessionsA.createSession('alice');
  const fromB = await sessionsB.createSession('bob');
  expect(await sessionsB.getSession(fromA.sessionId)).toEqual(fromA);
  expect(await sessionsA.getSession(fromB.sessionId)).toEqual(fromB);
  const tokenFromA = await new RedisRefreshTokenStore(a.backend, { expirySeconds: 60 }).generateToken({ clientId: 'c', userId: 'alice', scope: 's' });
  expect((await new RedisRefreshTokenStore(b.backend, { expirySeconds: 60 }).validateToken(tokenFromA, 'c')).valid).toBe(true);
});

test('after a restart with an empty dataset, a long-lived host and a new host see each other', async () => {
  const a = await host('a-restart');
  const sessionsA = new RedisSessionStore(a.backend);
  await sessionsA.createSession('warm-up');
  await server.kill();
  await server.restart();
  // The client reconnects on its own; wait (bounded) until it answers.
  for (let attempt = 0; ; attempt += 1) {
    try {
      await a.send(['PING']);
      break;
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  expect(await a.send(['DBSIZE'])).toBe(0);
  const fromA = await sessionsA.createSession('alice-after-restart');
  const b = await host('b-restart');
  const sessionsB = new RedisSessionStore(b.backend);
  expect(await sessionsB.getSession(fromA.sessionId)).toEqual(fromA);
  const fromB = await sessionsB.createSession('bob');
  expect(await sessionsA.getSession(fromB.sessionId)).toEqual(fromB);
});
