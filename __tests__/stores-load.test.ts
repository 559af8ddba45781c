import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { createService, fsError, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

let dir: string;
let service: EncryptionService;

beforeEach(async () => {
  dir = makeTempDir();
  service = await createService(dir);
});

afterEach(async () => {
  await service.waitForPendingWrites();
  jest.useRealTimers();
  removeTempDir(dir);
});

type Logger = ReturnType<typeof recordingStoreLogger>;
interface LoadableStore {
  loadFromStorage(): Promise<void>;
  getMetrics(): { count: number };
}

const kinds: [string, string, (file: string, logger: Logger) => LoadableStore][] = [
  ['sessions', 'oauth_sessions.enc', (file, logger) => new PersistentSessionStore(service, file, { logger })],
  ['tokens', 'oauth_refresh_tokens.enc', (file, logger) => new PersistentRefreshTokenStore({ expirySeconds: 60, logger }, service, file)],
  ['clients', 'oauth_clients.enc', (file, logger) => new PersistentClientStore({ allowedRedirectUris: [], logger }, service, file)],
];

const asideFiles = (file: string): string[] =>
  fs.readdirSync(path.dirname(file)).filter((name) => name.startsWith(`${path.basename(file)}.corrupt-`)).sort();

describe.each(kinds)('loadFromStorage of the %s store (behaviour 5, FR-3.3)', (field, fileName, make) => {
  let file: string;
  beforeEach(() => {
    file = path.join(dir, fileName);
  });

  test('a missing file is an empty store', async () => {
    const store = make(file, recordingStoreLogger());
    await store.loadFromStorage();
    expect(store.getMetrics().count).toBe(0);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  const badFiles: [string, () => Promise<Buffer>][] = [
    ['an empty file', async () => Buffer.alloc(0)],
    ['text that is not a payload', async () => Buffer.from('hello, not encrypted\n')],
    ['valid ciphertext of text that is not JSON', async () => Buffer.from(await service.encrypt('{"version": 1, '))],
    ['JSON without a version', async () => Buffer.from(await service.encrypt(JSON.stringify({ [field]: [] })))],
    ['JSON with version 0', async () => Buffer.from(await service.encrypt(JSON.stringify({ version: 0, [field]: [] })))],
    ['JSON with version 1.5', async () => Buffer.from(await service.encrypt(JSON.stringify({ version: 1.5, [field]: [] })))],
    ['JSON with version "1" (a string)', async () => Buffer.from(await service.encrypt(JSON.stringify({ version: '1', [field]: [] })))],
    ['JSON that is an array', async () => Buffer.from(await service.encrypt(JSON.stringify([{ version: 1 }])))],
    ['JSON null', async () => Buffer.from(await service.encrypt('null'))],
    ['JSON without the records array', async () => Buffer.from(await service.encrypt(JSON.stringify({ version: 1, [field]: {} })))],
    // A record of the wrong shape no longer costs the whole file (issue 9 item 5): see stores-merge.test.ts.
  ];

  test.each(badFiles)('%s is moved aside byte for byte, logged, and the store starts empty', async (_, contents) => {
    const bytes = await contents();
    fs.writeFileSync(file, bytes);
    const logger = recordingStoreLogger();
    const store = make(file, logger);
    await store.loadFromStorage();
    expect(store.getMetrics().count).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    const aside = asideFiles(file);
    expect(aside).toEqual([expect.stringMatching(/\.corrupt-\d+$/)]);
    expect(fs.readFileSync(path.join(dir, aside[0]!)).equals(bytes)).toBe(true);
    expect(logger.entries).toEqual([
      { level: 'warn', fields: expect.objectContaining({ filePath: file, movedTo: path.join(dir, aside[0]!) }), message: expect.any(String) },
    ]);
  });

  // Well formed but not authentic: another key looks exactly like an altered file. Moving it aside
  // would wipe the store for every instance that holds the right key, so it stays and load rejects.
  const unauthentic: [string, () => Promise<Buffer>][] = [
    ['a payload with a flipped byte', async () => {
      const payload = Buffer.from(await service.encrypt(JSON.stringify({ version: 1, [field]: [] })));
      payload[payload.length - 2] = payload[payload.length - 2] === 0x30 ? 0x31 : 0x30;
      return payload;
    }],
    ['a payload under another key', async () => {
      const other = new EncryptionService({ encryptionKey: 'another-key', keyStoragePath: path.join(dir, 'other-key') });
      await other.initialize();
      return Buffer.from(await other.encrypt(JSON.stringify({ version: 1, [field]: [] })));
    }],
  ];

  test.each(unauthentic)('%s rejects with ERR_DECRYPT, stays byte for byte where it is, and nothing is written', async (_, contents) => {
    const bytes = await contents();
    fs.writeFileSync(file, bytes);
    const store = make(file, recordingStoreLogger());
    await expect(store.loadFromStorage()).rejects.toMatchObject({ name: 'DecryptionError', code: 'ERR_DECRYPT', filePath: file, isAuthenticationFailure: true });
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(asideFiles(file)).toEqual([]);
    expect(fs.readdirSync(dir).filter((name) => name !== path.basename(file) && !name.startsWith('other-key'))).toEqual([]);
  });

  test('a newer version rejects with ERR_STORE_VERSION and leaves the file untouched', async () => {
    fs.writeFileSync(file, await service.encrypt(JSON.stringify({ version: 2, [field]: [] })));
    const before = fs.readFileSync(file);
    const store = make(file, recordingStoreLogger());
    await expect(store.loadFromStorage()).rejects.toMatchObject({
      name: 'UnsupportedStoreVersionError', code: 'ERR_STORE_VERSION', filePath: file, version: 2, supportedVersion: 1,
    });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(asideFiles(file)).toEqual([]);
  });

  test('a directory where the file should be rejects with EISDIR and is left alone', async () => {
    fs.mkdirSync(file);
    const store = make(file, recordingStoreLogger());
    await expect(store.loadFromStorage()).rejects.toMatchObject({ code: 'EISDIR' });
    expect(fs.statSync(file).isDirectory()).toBe(true);
    expect(asideFiles(file)).toEqual([]);
  });
});

describe('moving a bad file aside', () => {
  const file = (): string => path.join(dir, 'oauth_sessions.enc');

  test('never overwrites an earlier .corrupt file of the same moment', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'], now: 1_700_000_000_000 });
    fs.writeFileSync(`${file()}.corrupt-1700000000000`, 'first');
    fs.writeFileSync(`${file()}.corrupt-1700000000000-1`, 'second');
    fs.writeFileSync(file(), 'third');
    await new PersistentSessionStore(service, file(), { logger: recordingStoreLogger() }).loadFromStorage();
    expect(asideFiles(file()).map((name) => fs.readFileSync(path.join(dir, name), 'utf8'))).toEqual(['first', 'second', 'third']);
    expect(fs.existsSync(`${file()}.corrupt-1700000000000-2`)).toBe(true);
  });

  test('a save asked for while the load runs lands after the move, so the bad file is kept and the new one is not moved', async () => {
    fs.writeFileSync(file(), 'bad bytes');
    const store = new PersistentSessionStore(service, file(), { logger: recordingStoreLogger() });
    const loading = store.loadFromStorage();
    const racing = service.encryptToFile(JSON.stringify({ version: 1, sessions: [] }), file());
    await Promise.all([loading, racing]);
    const aside = asideFiles(file());
    expect(aside.map((name) => fs.readFileSync(path.join(dir, name), 'utf8'))).toEqual(['bad bytes']);
    expect(await readStoreFile(service, file())).toEqual({ version: 1, sessions: [] });
  });

  test('after a bad file was moved aside, the next save writes a fresh file and keeps the moved one', async () => {
    fs.writeFileSync(file(), 'bad bytes');
    const store = new PersistentSessionStore(service, file(), { logger: recordingStoreLogger() });
    await store.loadFromStorage();
    const session = store.createSession('user-1');
    await store.flush();
    expect(await readStoreFile(service, file())).toEqual({ version: 1, sessions: [session] });
    expect(asideFiles(file())).toHaveLength(1);
  });

  test('FR-3.3: a journal that cannot be opened (out of descriptors) fails the load instead of passing for no journal', async () => {
    const store = new PersistentSessionStore(service, file(), { logger: recordingStoreLogger() });
    store.createSession('user-1');
    await store.flush();
    // The store reads through 'fs' directly (synchronously, for getSession): the fault is injected there, for this one path.
    const openSync = fs.openSync;
    const spy = jest.spyOn(fs, 'openSync').mockImplementation((target, ...rest) => {
      if (target === `${file()}.journal`) throw fsError('EMFILE', 'open');
      return openSync(target, ...rest);
    });
    try {
      const fresh = new PersistentSessionStore(service, file(), { logger: recordingStoreLogger() });
      await expect(fresh.loadFromStorage()).rejects.toMatchObject({ code: 'EMFILE' });
    } finally {
      spy.mockRestore();
    }
  });

  test('loading through a service that is not initialised rejects with ERR_NOT_INITIALIZED, even without a file', async () => {
    const fresh = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key') });
    const store = new PersistentSessionStore(fresh, file(), { logger: recordingStoreLogger() });
    await expect(store.loadFromStorage()).rejects.toMatchObject({ code: 'ERR_NOT_INITIALIZED', message: expect.stringContaining('(loadFromStorage() was called before') });
  });
});

describe('temp files crashed writers left behind (NFR-6)', () => {
  test('a store\'s first locked operation sweeps an old temp file of its naming beside its file, and keeps a young one', async () => {
    const file = path.join(dir, 'oauth_sessions.enc');
    // A pid no process has (above Linux's pid_max), and one old enough (an hour) to sweep.
    const old = path.join(dir, 'oauth_sessions.enc.2147483646.1.0123456789ab.tmp');
    const young = path.join(dir, 'oauth_sessions.enc.2147483646.2.0123456789ab.tmp');
    fs.writeFileSync(old, 'left by a crash');
    fs.writeFileSync(young, 'being written');
    const hourAgo = Date.now() / 1000 - 3600;
    fs.utimesSync(old, hourAgo, hourAgo);
    const store = new PersistentSessionStore(service, file, { logger: recordingStoreLogger() });
    await store.loadFromStorage();
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(young)).toBe(true);
  });
});

describe('default paths (FR-3.1)', () => {
  test('the stores default to ~/.sage/oauth_sessions.enc, oauth_refresh_tokens.enc and oauth_clients.enc', async () => {
    // Saves no longer go through encryptToFile (which could be stubbed), so the home directory is the test's.
    const home = jest.spyOn(os, 'homedir').mockReturnValue(dir);
    try {
      const logger = recordingStoreLogger();
      const sessions = new PersistentSessionStore(service, undefined, { logger });
      const tokens = new PersistentRefreshTokenStore({ expirySeconds: 60, logger }, service);
      const clients = new PersistentClientStore({ allowedRedirectUris: ['*'], logger }, service);
      sessions.createSession('user-1');
      await tokens.generateToken({ clientId: 'c', userId: 'u', scope: 's' });
      await clients.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/cb'] });
      await Promise.all([sessions.flush(), tokens.flush()]);
      expect(fs.readdirSync(path.join(dir, '.sage')).sort()).toEqual(['oauth_clients.enc', 'oauth_refresh_tokens.enc', 'oauth_sessions.enc']);
      expect(home).toHaveBeenCalled();
    } finally {
      home.mockRestore();
    }
  });
});
