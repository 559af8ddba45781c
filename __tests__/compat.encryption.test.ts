/**
 * FR-3.1 drop-in: the EncryptionService called as the original server calls
 * it (oauth-server.ts: construct with no or a path-only config, initialize(),
 * getHealthStatus() for its health endpoint; the stores: encryptToFile and
 * decryptFromFile), asserting the original's observable results and texts.
 * Written from the original sources, not copied from them.
 */
import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EncryptionService } from '../lib/index.js';
import { makeTempDir } from './helpers/common.js';

const VARIABLE = 'SAGE_ENCRYPTION_KEY';
const saved = process.env[VARIABLE];
let dir: string;
let keyPath: string;
beforeEach(() => {
  dir = makeTempDir('ssm-compat-enc-');
  keyPath = path.join(dir, 'oauth_encryption_key');
  delete process.env[VARIABLE];
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  if (saved === undefined) delete process.env[VARIABLE];
  else process.env[VARIABLE] = saved;
});

/** The original's payload: fresh salt, scrypt per call, hex `salt:iv:tag:data`. */
function originalEncrypt(secret: string, plaintext: string): string {
  const [salt, iv] = [randomBytes(16), randomBytes(16)];
  const cipher = createCipheriv('aes-256-gcm', scryptSync(secret, salt, 32), iv);
  const data = cipher.update(plaintext, 'utf8', 'hex') + cipher.final('hex');
  return [salt.toString('hex'), iv.toString('hex'), cipher.getAuthTag().toString('hex'), data].join(':');
}

describe('FR-3.1 EncryptionService: construction and key set-up as in the original', () => {
  test('the default key path is ~/.sage/oauth_encryption_key and getKeyStoragePath() returns the configured one', () => {
    expect(new EncryptionService().getKeyStoragePath()).toBe(path.join(os.homedir(), '.sage', 'oauth_encryption_key'));
    expect(new EncryptionService({ keyStoragePath: keyPath }).getKeyStoragePath()).toBe(keyPath);
  });

  test('first start generates a 64-hex key file; health reports initialized and a keySource the original could report', async () => {
    const service = new EncryptionService({ keyStoragePath: keyPath, logger: silent });
    expect(service.isInitialized()).toBe(false);
    expect(service.getHealthStatus()).toMatchObject({ initialized: false, keyStoragePath: keyPath });
    await service.initialize();
    await service.initialize();
    expect(service.isInitialized()).toBe(true);
    expect(fs.readFileSync(keyPath, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    const health = service.getHealthStatus();
    expect(health).toMatchObject({ initialized: true, keySource: 'generated', keyStoragePath: keyPath });
    expect(health.mutex).toMatchObject({ activeFiles: 0, totalWaitTimeMs: expect.any(Number), longestWaitMs: expect.any(Number), queueDepthWarnings: 0 });
  });

  test('SAGE_ENCRYPTION_KEY is used as given, the key file is never read, and health says environment', async () => {
    fs.writeFileSync(keyPath, 'file-key');
    process.env[VARIABLE] = 'environment-key';
    const service = new EncryptionService({ keyStoragePath: keyPath });
    expect(service.getHealthStatus().keySource).toBe('environment');
    await service.initialize();
    expect(await service.decrypt(originalEncrypt('environment-key', 'hello'))).toBe('hello');
  });

  test('an existing key file (trailing newline trimmed) decrypts what the original wrote, and health says file', async () => {
    fs.writeFileSync(keyPath, 'file-key\n', { mode: 0o600 });
    const service = new EncryptionService({ keyStoragePath: keyPath });
    await service.initialize();
    expect(service.getHealthStatus().keySource).toBe('file');
    expect(await service.decrypt(originalEncrypt('file-key', '{"version":1,"sessions":[]}'))).toBe('{"version":1,"sessions":[]}');
  });
});

describe('FR-3.1 EncryptionService: crypto and files as the stores call them', () => {
  async function ready(): Promise<EncryptionService> {
    fs.writeFileSync(keyPath, 'file-key', { mode: 0o600 });
    const service = new EncryptionService({ keyStoragePath: keyPath });
    await service.initialize();
    return service;
  }

  test('encrypt gives the original four-part hex format, readable by the original recipe', async () => {
    const service = await ready();
    const payload = await service.encrypt('secret text');
    expect(payload.split(':').map((part) => /^[0-9a-f]+$/.test(part))).toEqual([true, true, true, true]);
    expect(payload.split(':').slice(0, 3).map((part) => part.length)).toEqual([32, 32, 32]);
    expect(await service.decrypt(payload)).toBe('secret text');
  });

  test('decrypt of a bad payload rejects with a message starting as the original one', async () => {
    const service = await ready();
    await expect(service.decrypt('not-a-payload')).rejects.toThrow(/^Failed to decrypt data/);
    await expect(service.decrypt(originalEncrypt('other-key', 'x'))).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
  });

  test('encryptToFile then decryptFromFile round-trips; a missing file is null; the directory is created', async () => {
    const service = await ready();
    const file = path.join(dir, 'nested', 'oauth_sessions.enc');
    expect(await service.decryptFromFile(file)).toBeNull();
    await service.encryptToFile('{"version":1}', file);
    expect(await service.decryptFromFile(file)).toBe('{"version":1}');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['oauth_sessions.enc']);
  });

  test('waitForPendingWrites and hasPendingWrites report the writes in flight, and getMutexMetrics the original counters', async () => {
    const service = await ready();
    const file = path.join(dir, 'oauth_clients.enc');
    const writes = [service.encryptToFile('1', file), service.encryptToFile('2', file)];
    expect(service.hasPendingWrites()).toBe(true);
    await service.waitForPendingWrites();
    expect(service.hasPendingWrites()).toBe(false);
    await Promise.all(writes);
    expect(await service.decryptFromFile(file)).toBe('2');
    expect(service.getMutexMetrics()).toMatchObject({ activeFiles: 0, queueDepthWarnings: 0 });
  });

  test.each(['encrypt', 'decrypt', 'encryptToFile'] as const)('%s before initialize() rejects with the original text', async (method) => {
    const service = new EncryptionService({ keyStoragePath: keyPath });
    const call = method === 'encryptToFile' ? service.encryptToFile('x', path.join(dir, 'f')) : service[method]('x');
    await expect(call).rejects.toThrow('EncryptionService not initialized. Call initialize() first.');
  });
});

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
