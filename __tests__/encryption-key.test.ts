/**
 * Issue 3, behaviour 3: initialize() is idempotent, the key comes from
 * config, environment, key file or a new random key in that order, and
 * processes starting together on an empty directory end with one key.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scryptKey } from '../lib/encryption/crypto-format.js';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { KEY_ENVIRONMENT_VARIABLE } from '../lib/encryption/key-source.js';
import { capturingLogger, faultySeam, fixturesDir, fsError, legacyDecrypt, legacyEncrypt, makeTempDir, removeTempDir } from './fixtures/encryption/helpers.js';

let dir: string;
let keyPath: string;
const savedEnvironmentKey = process.env[KEY_ENVIRONMENT_VARIABLE];
beforeEach(() => {
  dir = makeTempDir();
  keyPath = path.join(dir, 'keys', 'oauth_encryption_key');
  delete process.env[KEY_ENVIRONMENT_VARIABLE];
});
afterEach(() => {
  removeTempDir(dir);
  if (savedEnvironmentKey === undefined) delete process.env[KEY_ENVIRONMENT_VARIABLE];
  else process.env[KEY_ENVIRONMENT_VARIABLE] = savedEnvironmentKey;
});

const modeOf = (file: string): number => fs.statSync(file).mode & 0o777;

describe('behaviour 3: key precedence', () => {
  test('config.encryptionKey wins over the environment and the key file', async () => {
    process.env[KEY_ENVIRONMENT_VARIABLE] = 'from-environment';
    fs.mkdirSync(path.dirname(keyPath));
    fs.writeFileSync(keyPath, 'from-file');
    const service = new EncryptionService({ encryptionKey: 'from-config', keyStoragePath: keyPath });
    await service.initialize();
    expect(service.getHealthStatus().keySource).toBe('config');
    expect(legacyDecrypt('from-config', await service.encrypt('x'))).toBe('x');
  });

  test('SAGE_ENCRYPTION_KEY wins over the key file, and is read at initialize() time, not construction', async () => {
    fs.mkdirSync(path.dirname(keyPath));
    fs.writeFileSync(keyPath, 'from-file');
    const service = new EncryptionService({ keyStoragePath: keyPath });
    expect(service.getHealthStatus().keySource).toBe('file');
    process.env[KEY_ENVIRONMENT_VARIABLE] = 'from-environment';
    await service.initialize();
    expect(service.getHealthStatus().keySource).toBe('environment');
    expect(legacyDecrypt('from-environment', await service.encrypt('x'))).toBe('x');
  });

  test('an empty config key or environment variable counts as absent', async () => {
    process.env[KEY_ENVIRONMENT_VARIABLE] = '';
    fs.mkdirSync(path.dirname(keyPath));
    fs.writeFileSync(keyPath, 'from-file');
    const service = new EncryptionService({ encryptionKey: '', keyStoragePath: keyPath });
    await service.initialize();
    expect(service.getHealthStatus().keySource).toBe('file');
  });

  test('the key file is used trimmed, as the original service wrote it', async () => {
    fs.mkdirSync(path.dirname(keyPath));
    fs.writeFileSync(keyPath, 'from-file\n');
    const service = new EncryptionService({ keyStoragePath: keyPath });
    await service.initialize();
    expect(service.getHealthStatus()).toMatchObject({ initialized: true, keySource: 'file', keyStoragePath: keyPath });
    expect(await service.decrypt(legacyEncrypt('from-file', 'x'))).toBe('x');
  });

  test('without any key, a random 32-byte hex key is written 0600 in a new 0700 directory, and warned about without the key', async () => {
    const { logger, lines } = capturingLogger();
    const service = new EncryptionService({ keyStoragePath: keyPath, logger });
    await service.initialize();
    const key = fs.readFileSync(keyPath, 'utf8');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(modeOf(keyPath)).toBe(0o600);
    expect(modeOf(path.dirname(keyPath))).toBe(0o700);
    expect(fs.readdirSync(path.dirname(keyPath))).toEqual(['oauth_encryption_key']);
    expect(service.getHealthStatus().keySource).toBe('generated');
    expect(legacyDecrypt(key, await service.encrypt('x'))).toBe('x');
    const warnings = lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toEqual({ keyStoragePath: keyPath });
    for (const line of lines) expect(line.text).not.toContain(key);

    const next = new EncryptionService({ keyStoragePath: keyPath });
    await next.initialize();
    expect(next.getHealthStatus().keySource).toBe('file');
    expect(await next.decrypt(await service.encrypt('shared'))).toBe('shared');
  });

  test('an empty key file is an error (ERR_KEY_FILE) and is never replaced', async () => {
    fs.mkdirSync(path.dirname(keyPath));
    fs.writeFileSync(keyPath, '  \n');
    const service = new EncryptionService({ keyStoragePath: keyPath });
    await expect(service.initialize()).rejects.toMatchObject({ code: 'ERR_KEY_FILE', keyStoragePath: keyPath });
    expect(fs.readFileSync(keyPath, 'utf8')).toBe('  \n');
    expect(service.isInitialized()).toBe(false);
  });

  test('the default key path is ~/.sage/oauth_encryption_key, made absolute', () => {
    const service = new EncryptionService();
    expect(service.getKeyStoragePath()).toBe(path.join(os.homedir(), '.sage', 'oauth_encryption_key'));
    expect(new EncryptionService({ keyStoragePath: 'relative/key' }).getKeyStoragePath()).toBe(path.resolve('relative/key'));
  });
});

describe('behaviour 3: initialize() is idempotent', () => {
  test('concurrent and repeated calls resolve the key and derive once', async () => {
    const seam = faultySeam();
    let derivations = 0;
    const service = new EncryptionService({ keyStoragePath: keyPath }, {
      fileSystem: seam.fileSystem,
      deriveKey: (secret, salt) => {
        derivations += 1;
        return scryptKey(secret, salt);
      },
    });
    expect(service.isInitialized()).toBe(false);
    await Promise.all([service.initialize(), service.initialize(), service.initialize()]);
    await service.initialize();
    expect(service.isInitialized()).toBe(true);
    expect(derivations).toBe(1);
    expect(seam.calls.get('link')).toBe(1);
    expect(seam.calls.get('readFile')).toBe(1);
    // A generated key is durable before anything is encrypted under it: the file, its directory, and
    // the parent of that directory, which this first run created (issue 10, defect 5).
    expect(seam.calls.get('fsync')).toBe(3);
  });

  test('a failed initialize() rejects with the file-system code and a later call can succeed', async () => {
    const seam = faultySeam();
    const service = new EncryptionService({ keyStoragePath: keyPath }, { fileSystem: seam.fileSystem });
    seam.arm('readFile', fsError('EACCES'));
    await expect(service.initialize()).rejects.toMatchObject({ code: 'EACCES' });
    expect(service.isInitialized()).toBe(false);
    await service.initialize();
    expect(service.getHealthStatus().keySource).toBe('generated');
  });
});

describe('behaviour 3: crypto before initialize() rejects', () => {
  test.each([
    ['encrypt', (service: EncryptionService) => service.encrypt('x')],
    ['decrypt', (service: EncryptionService) => service.decrypt('a:b:c:d')],
    ['encryptToFile', (service: EncryptionService, file: string) => service.encryptToFile('x', file)],
    ['decryptFromFile', (service: EncryptionService, file: string) => service.decryptFromFile(file)],
  ])('%s() rejects with NotInitializedError and touches no file', async (method, call) => {
    const service = new EncryptionService({ keyStoragePath: keyPath });
    const file = path.join(dir, 'data.enc');
    await expect(call(service, file)).rejects.toMatchObject({ name: 'NotInitializedError', code: 'ERR_NOT_INITIALIZED' });
    await expect(call(service, file)).rejects.toThrow(`${method}() was called before initialize()`);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(service.hasPendingWrites()).toBe(false);
  });

  test('withFileLock needs no key', async () => {
    const service = new EncryptionService({ keyStoragePath: keyPath });
    expect(await service.withFileLock(path.join(dir, 'x'), () => 42)).toBe(42);
  });
});

describe('behaviour 3: processes starting together on an empty directory agree on one key', () => {
  const CHILDREN = 4;

  /** Starts CHILDREN processes, releases them at once, and returns what each printed. */
  async function raceChildren(keyStoragePath: string): Promise<{ source?: string; payload?: string; error?: string }[]> {
    const environment = { ...process.env };
    delete environment[KEY_ENVIRONMENT_VARIABLE];
    const children = Array.from({ length: CHILDREN }, (_, index) =>
      spawn(process.execPath, [path.join(fixturesDir, 'encryption-init-key.mjs'), keyStoragePath, String(index)], {
        env: environment,
        stdio: ['pipe', 'pipe', 'inherit'],
        timeout: 20_000,
      }),
    );
    const outputs = children.map((child) => {
      let text = '';
      let markReady!: () => void;
      const ready = new Promise<void>((resolve) => (markReady = resolve));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (text.startsWith('ready\n')) markReady();
      });
      const done = new Promise<string>((resolve) => child.once('exit', () => resolve(text)));
      // A child that dies before "ready" must fail the test, not hang it.
      return { ready: Promise.race([ready, done.then(() => Promise.reject(new Error(`child exited early: ${text}`)))]), done };
    });
    await Promise.all(outputs.map((output) => output.ready));
    for (const child of children) child.stdin.write('go\n');
    const texts = await Promise.all(outputs.map((output) => output.done));
    return texts.map((text) => JSON.parse(text.split('\n')[1] ?? '{}'));
  }

  test.each([1, 2, 3])('round %i: exactly one generates, every process encrypts under the key in the file', async () => {
    const results = await raceChildren(keyPath);
    const key = fs.readFileSync(keyPath, 'utf8');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(results.map((result) => result.error)).toEqual(Array(CHILDREN).fill(undefined));
    expect(results.filter((result) => result.source === 'generated')).toHaveLength(1);
    expect(results.filter((result) => result.source === 'file')).toHaveLength(CHILDREN - 1);
    results.forEach((result, index) => expect(legacyDecrypt(key, result.payload!)).toBe(`probe ${index}`));
    expect(modeOf(keyPath)).toBe(0o600);
    expect(modeOf(path.dirname(keyPath))).toBe(0o700);
    expect(fs.readdirSync(path.dirname(keyPath))).toEqual(['oauth_encryption_key']);
  });
});
