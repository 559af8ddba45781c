/**
 * migrateFilesToRedis: the three encrypted files into Redis, idempotently,
 * with counts; the files are only read. A private redis-server.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { migrateFilesToRedis } from '../lib/redis/migrate.js';
import { RedisBackend } from '../lib/redis/redis-backend.js';
import { RedisClientStore } from '../lib/redis/redis-client-store.js';
import { RedisRefreshTokenStore } from '../lib/redis/redis-refresh-token-store.js';
import { RedisSessionStore } from '../lib/redis/redis-session-store.js';
import { RECORD_LIMITS } from '../lib/stores/record-rules.js';
import { connectClient, startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { createService, makeTempDir, removeTempDir } from './helpers/store-harness.js';

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectClient>>;
let dir: string;
let service: EncryptionService;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectClient(server.url);
});
afterAll(async () => {
  await client.close();
  await server.stop();
});
beforeEach(async () => {
  dir = makeTempDir();
  service = await createService(dir);
});
afterEach(() => removeTempDir(dir));

const now = Date.now();
const hex = (digit: string): string => digit.repeat(64);
const sessionRecords = [
  { sessionId: hex('1'), userId: 'alice', createdAt: now - 1000, expiresAt: now + 3_600_000 },
  { sessionId: hex('2'), userId: 'bob', createdAt: now - 1000, expiresAt: now + 3_600_000 },
  { sessionId: hex('3'), userId: 'carol', createdAt: now - 9000, expiresAt: now - 1000 },
  { sessionId: hex('4'), userId: 42, createdAt: now, expiresAt: now + 1000 },
];
const token = (digit: string, extra: object): object => ({
  token: hex(digit), client_id: 'client-a', user_id: 'alice', scope: 'read', created_at: now - 1000, expires_at: now + 3_600_000, rotated: false, ...extra,
});
const tokenRecords = [token('a', {}), token('b', { rotated: true }), token('c', { expires_at: now - 1 })];
const clientRecords = ['x', 'y'].map((name) => ({
  client_id: `client-${name}`, client_name: `App ${name}`, redirect_uris: ['https://app.example/cb'], response_types: ['code'],
  grant_types: ['authorization_code'], token_endpoint_auth_method: 'none', client_id_issued_at: Math.floor(now / 1000),
}));

async function writeFiles(): Promise<{ sessionsPath: string; refreshTokensPath: string; clientsPath: string }> {
  const paths = { sessionsPath: path.join(dir, 's.enc'), refreshTokensPath: path.join(dir, 't.enc'), clientsPath: path.join(dir, 'c.enc') };
  await service.encryptToFile(JSON.stringify({ version: 1, sessions: sessionRecords }), paths.sessionsPath);
  await service.encryptToFile(JSON.stringify({ version: 1, tokens: tokenRecords }), paths.refreshTokensPath);
  await service.encryptToFile(JSON.stringify({ version: 1, clients: clientRecords }), paths.clientsPath);
  return paths;
}

const backendFor = (): RedisBackend => new RedisBackend({ sendCommand: (args) => client.sendCommand(args), encryptionService: service, keyPrefix: `migrate-${(prefixes += 1)}:` });

test('copies live records with their expiry and rotated flag, reports counts; a second run refuses, a forced one copies nothing twice', async () => {
  const paths = await writeFiles();
  const before = Object.values(paths).map((file) => fs.readFileSync(file));
  const backend = backendFor();

  const report = await migrateFilesToRedis(backend, paths);
  expect(report).toEqual({
    sessions: { copied: 2, existing: 0, expired: 1, invalid: 1 },
    refreshTokens: { copied: 2, existing: 0, expired: 1, invalid: 0 },
    clients: { copied: 2, existing: 0, expired: 0, invalid: 0 },
  });

  const sessions = new RedisSessionStore(backend);
  expect(await sessions.getSession(hex('1'))).toEqual(sessionRecords[0]);
  expect(await sessions.getSession(hex('3'))).toBeNull();
  const names = await backend.names();
  expect(Number(await client.sendCommand(['PEXPIRETIME', names.session(hex('2'))]))).toBe(sessionRecords[1]!.expiresAt);
  const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 60 });
  expect((await tokens.validateToken(hex('a'), 'client-a')).valid).toBe(true);
  expect((await tokens.validateToken(hex('b'), 'client-a')).valid).toBe(false);
  expect(await tokens.rotateToken(hex('b'), 'client-a')).toBeNull();
  const clients = new RedisClientStore(backend, { allowedRedirectUris: [] });
  expect(await clients.getClient('client-y')).toEqual(clientRecords[1]);

  const marker = JSON.parse(String(await client.sendCommand(['GET', `${backend.keyPrefix}meta:migrated`]))) as { migratedAt: number };
  expect(marker.migratedAt).toBeGreaterThanOrEqual(now);
  await expect(migrateFilesToRedis(backend, paths)).rejects.toMatchObject({ name: 'AlreadyMigratedError', code: 'ERR_ALREADY_MIGRATED', migratedAt: marker.migratedAt });
  expect(await migrateFilesToRedis(backend, { ...paths, force: true })).toEqual({
    sessions: { copied: 0, existing: 2, expired: 1, invalid: 1 },
    refreshTokens: { copied: 0, existing: 2, expired: 1, invalid: 0 },
    clients: { copied: 0, existing: 2, expired: 0, invalid: 0 },
  });
  // The rotated token stays rotated: a re-run never revives it.
  expect((await tokens.validateToken(hex('b'), 'client-a')).valid).toBe(false);
  expect(await tokens.cleanup()).toBe(1);
  expect(Object.values(paths).map((file) => fs.readFileSync(file))).toEqual(before);
});

test('a record already changed in Redis is left as it is, even by a forced re-run', async () => {
  const paths = await writeFiles();
  const backend = backendFor();
  await migrateFilesToRedis(backend, paths);
  const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 60 });
  const next = await tokens.rotateToken(hex('a'), 'client-a');
  await migrateFilesToRedis(backend, { ...paths, force: true });
  expect((await tokens.validateToken(hex('a'), 'client-a')).valid).toBe(false);
  expect((await tokens.validateToken(next!, 'client-a')).valid).toBe(true);
});

test('a re-run never revives a revoked token or a logged-out session; only force does, as documented', async () => {
  const paths = await writeFiles();
  const backend = backendFor();
  await migrateFilesToRedis(backend, paths);
  const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 60 });
  const sessions = new RedisSessionStore(backend);
  await tokens.revokeToken(hex('a'));
  await sessions.deleteSession(hex('1'));
  await expect(migrateFilesToRedis(backend, paths)).rejects.toMatchObject({ code: 'ERR_ALREADY_MIGRATED' });
  expect((await tokens.validateToken(hex('a'), 'client-a')).valid).toBe(false);
  expect(await sessions.getSession(hex('1'))).toBeNull();
  // What force means: copy-if-absent cannot tell "revoked since" from "never copied".
  await migrateFilesToRedis(backend, { ...paths, force: true });
  expect((await tokens.validateToken(hex('a'), 'client-a')).valid).toBe(true);
  expect(await sessions.getSession(hex('1'))).toEqual(sessionRecords[0]);
});

test('a run that failed half-way leaves no marker, so it may simply be run again', async () => {
  const paths = await writeFiles();
  const backend = backendFor();
  await service.encryptToFile('not json', paths.clientsPath);
  await expect(migrateFilesToRedis(backend, paths)).rejects.toMatchObject({ code: 'ERR_MIGRATION_SOURCE' });
  expect(await client.sendCommand(['EXISTS', `${backend.keyPrefix}meta:migrated`])).toBe(0);
  await writeFiles();
  await expect(migrateFilesToRedis(backend, paths)).resolves.toMatchObject({ clients: { copied: 2 } });
});

test('missing files count as empty stores', async () => {
  const missing = path.join(dir, 'none.enc');
  const zero = { copied: 0, existing: 0, expired: 0, invalid: 0 };
  expect(await migrateFilesToRedis(backendFor(), { sessionsPath: missing, refreshTokensPath: missing, clientsPath: missing })).toEqual({
    sessions: zero, refreshTokens: zero, clients: zero,
  });
});

test('a file that is not a store file rejects with ERR_MIGRATION_SOURCE, a newer version with ERR_STORE_VERSION, and nothing is copied from any file', async () => {
  const paths = await writeFiles();
  const backend = backendFor();
  await service.encryptToFile('not json', paths.clientsPath);
  await expect(migrateFilesToRedis(backend, paths)).rejects.toMatchObject({ code: 'ERR_MIGRATION_SOURCE', filePath: paths.clientsPath });
  await writeFiles();
  await service.encryptToFile(JSON.stringify({ version: 2, sessions: [] }), paths.sessionsPath);
  await expect(migrateFilesToRedis(backend, { ...paths })).rejects.toMatchObject({ code: 'ERR_STORE_VERSION' });
  expect(await client.sendCommand(['KEYS', `${backend.keyPrefix}*`])).toEqual([]);
});

test('a record the file store would drop (a string past the record limits) counts as invalid and is not copied', async () => {
  const paths = await writeFiles();
  const oversized = { ...clientRecords[0], client_id: 'client-big', client_name: 'n'.repeat(RECORD_LIMITS.maxStringLength + 1) };
  await service.encryptToFile(JSON.stringify({ version: 1, clients: [...clientRecords, oversized] }), paths.clientsPath);
  const backend = backendFor();
  const report = await migrateFilesToRedis(backend, paths);
  expect(report.clients).toEqual({ copied: 2, existing: 0, expired: 0, invalid: 1 });
  expect(await new RedisClientStore(backend, { allowedRedirectUris: [] }).getClient('client-big')).toBeNull();
});
