/**
 * Four processes standing in for four hosts, each with its own connection to
 * one Redis, 250 mixed operations each: what remains is exactly what was
 * acknowledged, every token is rotated at most once, and a session one host
 * created is found by the others at once. Real processes, real Redis.
 */
import { randomBytes } from 'node:crypto';
import { RedisBackend } from '../lib/redis/redis-backend.js';
import { RedisClientStore } from '../lib/redis/redis-client-store.js';
import { RedisRefreshTokenStore } from '../lib/redis/redis-refresh-token-store.js';
import { RedisSessionStore } from '../lib/redis/redis-session-store.js';
import { connectClient, startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { runWorkers, type WorkerReport } from './helpers/redis-workers.js';
import { createService, makeTempDir, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectClient>>;
let dir: string;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectClient(server.url);
  dir = makeTempDir();
});

afterAll(async () => {
  await client.close();
  await server.stop();
  removeTempDir(dir);
});

async function countKeys(pattern: string): Promise<number> {
  let count = 0;
  let cursor = '0';
  do {
    const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
    count += keys.length;
    cursor = next;
  } while (cursor !== '0');
  return count;
}

const all = <K extends keyof WorkerReport>(reports: WorkerReport[], field: K): WorkerReport[K][] => reports.map((report) => report[field]);

test('4 hosts x 250 mixed operations: exactly the acknowledged creations minus deletions remain, each token rotated at most once, sessions seen across hosts at once', async () => {
  const prefix = `hosts-${randomBytes(4).toString('hex')}:`;
  const backend = new RedisBackend({ sendCommand: (args) => client.sendCommand(args), encryptionService: await createService(dir), keyPrefix: prefix });
  const sessions = new RedisSessionStore(backend);
  const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 3600 });
  const clients = new RedisClientStore(backend, { allowedRedirectUris: [] });
  const sharedTokens = await Promise.all(Array.from({ length: 20 }, () => tokens.generateToken({ clientId: 'client-0', userId: 'shared', scope: 'read' })));

  const reports = await runWorkers(4, { url: server.url, prefix, key: TEST_KEY, dir, ops: 250, sharedTokens });

  expect(all(reports, 'failures').flat()).toEqual([]);
  // Sessions: every announced one was found by every other host that looked, at once.
  expect(all(reports, 'missedOthers').flat()).toEqual([]);
  expect(all(reports, 'foundOthers').reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
  const created = all(reports, 'sessionsCreated').flat();
  const deleted = new Set(all(reports, 'sessionsDeleted').flat());
  expect(deleted.size).toBeGreaterThan(0);
  expect(await countKeys(`${prefix}s:*`)).toBe(created.length - deleted.size);
  for (const id of created) expect((await sessions.getSession(id)) === null).toBe(deleted.has(id));

  // Tokens: no old token has two successful rotations, and there was real contention.
  const rotations = all(reports, 'rotations').flat();
  const olds = rotations.map(([old]) => old);
  expect(new Set(olds).size).toBe(olds.length);
  expect(all(reports, 'rotationMisses').reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  expect(olds.filter((old) => sharedTokens.includes(old)).length).toBeGreaterThan(5);
  const issued = [...sharedTokens, ...all(reports, 'tokensIssued').flat()];
  const revoked = new Set(all(reports, 'tokensRevoked').flat());
  expect(await countKeys(`${prefix}t:*`)).toBe(issued.length - revoked.size);
  const rotatedAway = new Set(olds);
  // A token belongs to client-0 or client-1; a live one validates for its own client only.
  for (const token of issued) {
    const clientId = (await tokens.validateToken(token, 'client-0')).valid ? 'client-0' : 'client-1';
    const isLive = !revoked.has(token) && !rotatedAway.has(token);
    expect((await tokens.validateToken(token, clientId)).valid).toBe(isLive);
  }

  // Clients: exactly the registered minus the deleted.
  const registered = all(reports, 'clientsRegistered').flat();
  const gone = new Set(all(reports, 'clientsDeleted').flat());
  expect(await countKeys(`${prefix}c:*`)).toBe(registered.length - gone.size);
  for (const id of registered) expect((await clients.getClient(id)) === null).toBe(gone.has(id));
});
