/**
 * The `session-store-mutex migrate-to-redis` command (issue 13, item 3): the
 * BUILT bin (`npm run build` first) in real child processes against a private
 * redis-server, on store files written by the file stores. Flags are also
 * checked in-process.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { RedisBackend } from '../lib/redis/redis-backend.js';
import { RedisClientStore } from '../lib/redis/redis-client-store.js';
import { RedisRefreshTokenStore } from '../lib/redis/redis-refresh-token-store.js';
import { RedisSessionStore } from '../lib/redis/redis-session-store.js';
import { parseArgs } from '../lib/redis/cli/args.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { connectClient, freePort, startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { makeTempDir } from './helpers/common.js';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'dist', 'redis', 'cli', 'bin.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectClient>>;
let dir: string;
let home: string;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectClient(server.url);
});
afterAll(async () => {
  await client.close();
  await server.stop();
});
beforeEach(() => {
  dir = makeTempDir('ssm-cli-redis-');
  home = path.join(dir, 'home');
  fs.mkdirSync(home);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs a script with node; HOME is the test's own, SAGE_ENCRYPTION_KEY only when given. */
function runNode(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { SAGE_ENCRYPTION_KEY: _ignored, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { env: { ...inherited, HOME: home, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

const runBin = (args: string[], env?: Record<string, string>): Promise<Run> => runNode(BIN, args, env);

/** Writes the three files the way a server does: its own stores, a generated key file. */
async function writeStoreFiles(): Promise<{ keyFile: string; sessionIds: string[]; tokens: string[]; rotated: string; clientIds: string[] }> {
  const keyFile = path.join(dir, 'oauth_encryption_key');
  const service = new EncryptionService({ keyStoragePath: keyFile, durable: false });
  await service.initialize();
  const sessions = new PersistentSessionStore(service, path.join(dir, 'oauth_sessions.enc'));
  const sessionIds = ['alice', 'bob', 'carol'].map((user) => sessions.createSession(user).sessionId);
  const tokenStore = new PersistentRefreshTokenStore({ expirySeconds: 3600 }, service, path.join(dir, 'oauth_refresh_tokens.enc'));
  const rotated = await tokenStore.generateToken({ clientId: 'client-a', userId: 'alice', scope: 'read' });
  const successor = (await tokenStore.rotateToken(rotated, 'client-a'))!;
  const other = await tokenStore.generateToken({ clientId: 'client-a', userId: 'bob', scope: 'read' });
  const clients = new PersistentClientStore({ allowedRedirectUris: ['https://app.example/cb'] }, service, path.join(dir, 'oauth_clients.enc'));
  const clientIds: string[] = [];
  for (const name of ['App X', 'App Y']) clientIds.push((await clients.registerClient({ client_name: name, redirect_uris: ['https://app.example/cb'] })).client!.client_id);
  await Promise.all([sessions.flush(), tokenStore.flush(), clients.flush()]);
  return { keyFile, sessionIds, tokens: [rotated, successor, other], rotated, clientIds };
}

const counts = (copied: number, existing: number) => ({ copied, existing, expired: 0, invalid: 0 });

describe('migrate-to-redis, the built bin (FR-3.1)', () => {
  test('copies three store files written by the file stores into a fresh Redis with counts; a second run exits 1 (ERR_ALREADY_MIGRATED), --force copies nothing twice', async () => {
    const files = await writeStoreFiles();
    const prefix = `cli-${(prefixes += 1)}:`;
    const flags = ['migrate-to-redis', '--redis-url', server.url, '--dir', dir, '--key-file', files.keyFile, '--key-prefix', prefix];

    const first = await runBin(flags);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout.trim().split('\n')).toEqual([
      `sessions (${path.join(dir, 'oauth_sessions.enc')}): 3 copied, 0 already in Redis, 0 expired, 0 invalid`,
      `refresh tokens (${path.join(dir, 'oauth_refresh_tokens.enc')}): 3 copied, 0 already in Redis, 0 expired, 0 invalid`,
      `clients (${path.join(dir, 'oauth_clients.enc')}): 2 copied, 0 already in Redis, 0 expired, 0 invalid`,
    ]);

    const refused = await runBin([...flags, '--json']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^session-store-mutex migrate-to-redis: ERR_ALREADY_MIGRATED: [^\n]*\n$/);

    const second = await runBin([...flags, '--json', '--force']);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout.split('\n')).toHaveLength(2);
    expect(JSON.parse(second.stdout)).toEqual({ sessions: counts(0, 3), refreshTokens: counts(0, 3), clients: counts(0, 2) });

    // What landed is readable with the same key under the given prefix, the rotated token still dead.
    const service = new EncryptionService({ keyStoragePath: files.keyFile });
    await service.initialize();
    const backend = new RedisBackend({ sendCommand: (args) => client.sendCommand(args), encryptionService: service, keyPrefix: prefix });
    const sessions = new RedisSessionStore(backend);
    for (const id of files.sessionIds) expect((await sessions.getSession(id))?.sessionId).toBe(id);
    const tokens = new RedisRefreshTokenStore(backend, { expirySeconds: 60 });
    const validity = await Promise.all(files.tokens.map(async (token) => (await tokens.validateToken(token, 'client-a')).valid));
    expect(validity).toEqual([false, true, true]);
    const clients = new RedisClientStore(backend, { allowedRedirectUris: [] });
    expect(await Promise.all(files.clientIds.map(async (id) => (await clients.getClient(id))?.client_name))).toEqual(['App X', 'App Y']);
    // Nothing secret on the command's output.
    for (const secret of [fs.readFileSync(files.keyFile, 'utf8').trim(), ...files.sessionIds, ...files.tokens]) {
      expect(first.stdout + second.stdout).not.toContain(secret);
    }
  }, 30_000);

  test('a --dir that does not exist, or holds none of the three files, exits 1 with one line (ERR_NO_STORE_FILES) and writes nothing', async () => {
    const files = await writeStoreFiles();
    const prefix = `cli-${(prefixes += 1)}:`;
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    for (const target of [path.join(dir, 'no-such-dir'), empty]) {
      const run = await runBin(['migrate-to-redis', '--redis-url', server.url, '--dir', target, '--key-file', files.keyFile, '--key-prefix', prefix]);
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(/^session-store-mutex migrate-to-redis: ERR_NO_STORE_FILES: [^\n]*\n$/);
      expect(run.stderr).toContain(target);
    }
    expect(await client.sendCommand(['KEYS', `${prefix}*`])).toEqual([]);
  }, 30_000);

  test('a bad flag exits 2 with one line on stderr that names the flag, never its value', async () => {
    const unknown = await runBin(['migrate-to-redis', '--redis-url', server.url, '--dri', dir]);
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: 'session-store-mutex: unknown flag --dri (see --help)\n' });
    const badUrl = await runBin(['migrate-to-redis', '--redis-url', 'http://user:hunter2-secret@127.0.0.1:1']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toBe('session-store-mutex: --redis-url must be a redis:// or rediss:// URL (see --help)\n');
  }, 30_000);

  test('with no SAGE_ENCRYPTION_KEY and no key file it exits 1 with ERR_KEY_MISSING, generates no key and prints no secret', async () => {
    const files = await writeStoreFiles();
    const run = await runBin(['migrate-to-redis', '--redis-url', server.url, '--dir', dir, '--key-prefix', `cli-${(prefixes += 1)}:`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toEqual([expect.stringMatching(/^session-store-mutex migrate-to-redis: ERR_KEY_MISSING: /), '']);
    expect(run.stderr).toContain(path.join(home, '.sage', 'oauth_encryption_key'));
    expect(fs.existsSync(path.join(home, '.sage'))).toBe(false);
    for (const secret of [...files.sessionIds, ...files.tokens]) expect(run.stderr).not.toContain(secret);
  }, 30_000);

  test('a wrong key exits 1 with ERR_DECRYPT, writes nothing to Redis and prints neither key nor record', async () => {
    const files = await writeStoreFiles();
    const prefix = `cli-${(prefixes += 1)}:`;
    const wrongKey = 'wrong-key-0123456789abcdef-not-the-one';
    const run = await runBin(['migrate-to-redis', '--redis-url', server.url, '--dir', dir, '--key-prefix', prefix], { SAGE_ENCRYPTION_KEY: wrongKey });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^session-store-mutex migrate-to-redis: ERR_DECRYPT: [^\n]*\n$/);
    const keys = await client.sendCommand(['KEYS', `${prefix}*`]);
    expect(keys).toEqual([]);
    for (const secret of [wrongKey, fs.readFileSync(files.keyFile, 'utf8').trim(), ...files.sessionIds, ...files.tokens]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  }, 30_000);

  test('Redis not reachable: exit 1 with ERR_REDIS_UNAVAILABLE, and the URL (with its password) is never printed', async () => {
    const files = await writeStoreFiles();
    const url = `redis://migrator:hunter2-secret@127.0.0.1:${await freePort()}`;
    const run = await runBin(['migrate-to-redis', '--redis-url', url, '--dir', dir, '--key-file', files.keyFile]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^session-store-mutex migrate-to-redis: ERR_REDIS_UNAVAILABLE: [^\n]*\n$/);
    expect(run.stderr).not.toContain('hunter2');
  }, 30_000);

  test('without redis or ioredis installed next to the package it prints one line and exits 2', async () => {
    // The built package alone, where no node_modules can be found: the user installed neither client.
    const packageDir = path.join(dir, 'pkg');
    fs.cpSync(path.join(ROOT, 'dist'), path.join(packageDir, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify({ name: 'session-store-mutex', type: 'module' }));
    const run = await runNode(path.join(packageDir, 'dist', 'redis', 'cli', 'bin.js'), ['migrate-to-redis', '--redis-url', server.url, '--dir', dir]);
    expect(run).toEqual({ code: 2, stdout: '', stderr: 'session-store-mutex: install redis or ioredis next to session-store-mutex\n' });
  }, 30_000);
});

describe('argument handling', () => {
  test('defaults: ~/.sage for the files and the key file, prefix ssm:, text output', () => {
    const homeDir = os.homedir();
    expect(parseArgs(['migrate-to-redis', '--redis-url', 'redis://127.0.0.1:6379'])).toEqual({
      isHelp: false,
      redisUrl: 'redis://127.0.0.1:6379',
      dir: path.join(homeDir, '.sage'),
      keyPrefix: 'ssm:',
      keyFile: path.join(homeDir, '.sage', 'oauth_encryption_key'),
      isJson: false,
      isForced: false,
    });
  });

  test('every flag is read, in both --flag value and --flag=value forms', () => {
    expect(parseArgs(['migrate-to-redis', '--redis-url=rediss://h:1', '--dir', '/d', '--key-prefix=p:', '--key-file', '/k', '--json', '--force'])).toEqual({
      isHelp: false, redisUrl: 'rediss://h:1', dir: '/d', keyPrefix: 'p:', keyFile: '/k', isJson: true, isForced: true,
    });
    expect(parseArgs(['--help'])).toEqual({ isHelp: true });
  });

  test.each([
    [[], 'missing subcommand'],
    [['migrate'], 'unknown subcommand'],
    [['migrate-to-redis'], '--redis-url is required'],
    [['migrate-to-redis', '--redis-url'], '--redis-url needs a value'],
    [['migrate-to-redis', '--redis-url', '--json'], '--redis-url needs a value'],
    [['migrate-to-redis', '--redis-url', 'not a url'], '--redis-url must be'],
    [['migrate-to-redis', '--redis-url', 'redis://h', '--dir', '/a', '--dir', '/b'], '--dir given twice'],
    [['migrate-to-redis', '--redis-url', 'redis://h', 'extra'], 'unexpected argument'],
    [['migrate-to-redis', '--redis-url', 'redis://h', '--json=yes'], 'unknown flag --json'],
    [['migrate-to-redis', '--redis-url', 'redis://h', '--force=yes'], 'unknown flag --force'],
    [['migrate-to-redis', '--redis-urlredis://u:hunter2@h'], 'unknown flag --redis-urlredis'],
  ])('%j is refused with ERR_USAGE: %s', (argv, message) => {
    let caught: unknown;
    try {
      parseArgs(argv);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'ERR_USAGE', message: expect.stringContaining(message) });
    expect(String((caught as Error).message)).not.toContain('hunter2');
  });
});

describe('the package ships the command', () => {
  test('package.json: exactly one bin, the built ESM file; redis and ioredis optional peers; no runtime dependency', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.bin).toEqual({ 'session-store-mutex': 'dist/redis/cli/bin.js' });
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies as object).sort()).toEqual(['ioredis', 'redis']);
    expect(manifest.peerDependenciesMeta).toEqual({ ioredis: { optional: true }, redis: { optional: true } });
    expect(fs.readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  test('npm pack ships the bin and the command files, and not the demo', async () => {
    const packed = await new Promise<string[]>((resolve, reject) => {
      execFile('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 60_000, maxBuffer: 8 << 20 }, (error, stdout) => {
        if (error !== null) return reject(error);
        resolve((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path));
      });
    });
    expect(packed).toEqual(expect.arrayContaining(['dist/redis/cli/bin.js', 'dist/redis/cli/main.js', 'dist/redis/cli/redis-connection.js']));
    expect(packed.filter((file) => file.includes('demo'))).toEqual([]);
  }, 70_000);

  test('the built command imports only Node built-ins and its own files (the client is found at run time)', () => {
    const cliDir = path.join(ROOT, 'dist', 'redis', 'cli');
    const specifiers = fs
      .readdirSync(cliDir)
      .filter((name) => name.endsWith('.js'))
      .flatMap((name) => [...fs.readFileSync(path.join(cliDir, name), 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((match) => match[1]!));
    expect(specifiers).toContain('./main.js');
    expect(specifiers.filter((specifier) => !specifier.startsWith('node:') && !specifier.startsWith('.'))).toEqual([]);
  });
});
