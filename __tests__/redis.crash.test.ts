/**
 * Redis killed with SIGKILL and restarted mid-run, with `appendonly yes` and
 * `appendfsync always`: operations in flight reject with a typed error, and
 * nothing that was acknowledged is lost, whether a creation, a deletion or a
 * rotation. Four real worker processes, a real redis-server.
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
let dir: string;

beforeAll(async () => {
  server = await startRedisServer({ isDurable: true });
  dir = makeTempDir();
});

afterAll(async () => {
  await server.stop();
  removeTempDir(dir);
});

const flat = <K extends 'sessionsCreated' | 'sessionsDeleted' | 'sessionsUncertain' | 'tokensIssued' | 'tokensRevoked' | 'tokensUncertain' | 'clientsRegistered' | 'clientsDeleted' | 'clientsUncertain'>(
  reports: WorkerReport[],
  field: K,
): string[] => reports.flatMap((report) => report[field]);

// Every write is fsynced to the real disk before Redis replies: fewer operations than the
// no-crash test keep this file to a few seconds on a shared machine.
const OPS = 100;
const KEYS_BEFORE_KILL = 40;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('SIGKILL and restart mid-run with appendfsync always: in-flight operations reject with a typed error, none acknowledged is lost', async () => {
  const prefix = `crash-${randomBytes(4).toString('hex')}:`;
  const setup = await connectClient(server.url);
  const backend = new RedisBackend({ sendCommand: (args) => setup.sendCommand(args), encryptionService: await createService(dir), keyPrefix: prefix });
  const sharedTokens = await Promise.all(Array.from({ length: 20 }, () => new RedisRefreshTokenStore(backend, { expirySeconds: 3600 }).generateToken({ clientId: 'client-0', userId: 'shared', scope: 'read' })));
  await setup.close();

  let keysAtKill = 0;
  const reports = await runWorkers(4, { url: server.url, prefix, key: TEST_KEY, dir, ops: OPS, sharedTokens, commandTimeoutMs: 400 }, 60_000, async () => {
    // Kill once the run is well under way (a third of its keys written), not at a guessed time.
    const watcher = await connectClient(server.url);
    const before = Number(await watcher.sendCommand(['DBSIZE']));
    while ((keysAtKill = Number(await watcher.sendCommand(['DBSIZE'])) - before) < KEYS_BEFORE_KILL) await sleep(10);
    await watcher.close();
    await server.kill();
    await sleep(500);
    await server.restart();
  });
  expect(keysAtKill).toBeGreaterThanOrEqual(KEYS_BEFORE_KILL);

  // In-flight and offline operations failed, each with a stable code, never an untyped error.
  const failures = reports.flatMap((report) => report.failures);
  expect(failures.length).toBeGreaterThan(0);
  for (const failure of failures) expect(['ERR_REDIS_UNAVAILABLE', 'ERR_REDIS_TIMEOUT']).toContain(failure.code);

  const client = await connectClient(server.url);
  const verify = new RedisBackend({ sendCommand: (args) => client.sendCommand(args), encryptionService: await createService(dir), keyPrefix: prefix });
  const sessions = new RedisSessionStore(verify);
  const tokens = new RedisRefreshTokenStore(verify, { expirySeconds: 3600 });
  const clients = new RedisClientStore(verify, { allowedRedirectUris: [] });
  try {
    // Announced sessions were acknowledged before they were announced: every other host found them, before and after the crash.
    expect(reports.flatMap((report) => report.missedOthers)).toEqual([]);

    const sessionsUncertain = new Set(flat(reports, 'sessionsUncertain'));
    const sessionsDeleted = new Set(flat(reports, 'sessionsDeleted'));
    for (const id of flat(reports, 'sessionsCreated')) {
      if (sessionsUncertain.has(id)) continue;
      expect((await sessions.getSession(id)) === null).toBe(sessionsDeleted.has(id));
    }

    const tokensUncertain = new Set(flat(reports, 'tokensUncertain'));
    const revoked = new Set(flat(reports, 'tokensRevoked'));
    const rotatedAway = new Set(reports.flatMap((report) => report.rotations.map(([old]) => old)));
    expect(rotatedAway.size).toBe(reports.reduce((sum, report) => sum + report.rotations.length, 0));
    for (const token of [...sharedTokens, ...flat(reports, 'tokensIssued')]) {
      if (tokensUncertain.has(token)) continue;
      const isLive = !revoked.has(token) && !rotatedAway.has(token);
      const valid = (await tokens.validateToken(token, 'client-0')).valid || (await tokens.validateToken(token, 'client-1')).valid;
      expect(valid).toBe(isLive);
    }

    const clientsUncertain = new Set(flat(reports, 'clientsUncertain'));
    const clientsDeleted = new Set(flat(reports, 'clientsDeleted'));
    for (const id of flat(reports, 'clientsRegistered')) {
      if (clientsUncertain.has(id)) continue;
      expect((await clients.getClient(id)) === null).toBe(clientsDeleted.has(id));
    }
  } finally {
    await client.close();
  }
});
