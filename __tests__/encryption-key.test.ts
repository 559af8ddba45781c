/**
 * FR-4 key management: initialize() is idempotent; the key comes from the
 * environment, the key file or a new key in that order, as in the original
 * (a config key only replaces the random one, and a disagreeing one fails);
 * a shared key file is warned about; processes starting together on an empty
 * directory end with one key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scryptKey } from '../lib/encryption/crypto-format.js';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { KEY_ENVIRONMENT_VARIABLE } from '../lib/encryption/key-source.js';
import { capturingLogger, faultySeam, legacyDecrypt, legacyEncrypt } from './fixtures/encryption/helpers.js';
import { fsError, makeTempDir, removeTempDir } from './helpers/common.js';

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

describe('FR-4: key precedence is the original one (environment, key file, generated)', () => {
  const writeKeyFile = (text: string): void => {
    fs.mkdirSync(path.dirname(keyPath), { recursive: true });
    fs.writeFileSync(keyPath, text, { mode: 0o600 });
  };

  test('SAGE_ENCRYPTION_KEY wins over the key file, and an equal config key changes nothing', async () => {
    process.env[KEY_ENVIRONMENT_VARIABLE] = 'from-environment';
    writeKeyFile('from-file');
    const service = new EncryptionService({ encryptionKey: 'from-environment', keyStoragePath: keyPath });
    await service.initialize();
    expect(service.getHealthStatus().keySource).toBe('environment');
    expect(legacyDecrypt('from-environment', await service.encrypt('x'))).toBe('x');
  });

  test.each([
    ['the environment variable', 'environment', () => (process.env[KEY_ENVIRONMENT_VARIABLE] = 'from-environment')],
    ['the key file', 'file', () => writeKeyFile('from-file\n')],
  ])('a config key that differs from %s fails initialize() with ERR_KEY_MISMATCH, naming no key and moving nothing', async (_, source, arrange) => {
    arrange();
    const dataFile = path.join(dir, 'oauth_clients.enc');
    fs.writeFileSync(dataFile, legacyEncrypt(source === 'file' ? 'from-file' : 'from-environment', '{"version":1,"clients":[]}'));
    const before = fs.readdirSync(dir).sort();
    const service = new EncryptionService({ encryptionKey: 'from-config', keyStoragePath: keyPath });
    const failure = await service.initialize().catch((error: unknown) => error as Error & { code: string; keySource: string });
    expect(failure).toMatchObject({ name: 'KeyMismatchError', code: 'ERR_KEY_MISMATCH', keySource: source, keyStoragePath: keyPath });
    expect((failure as Error).message).not.toMatch(/from-(config|file|environment)/);
    expect(service.isInitialized()).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
    if (source === 'file') expect(fs.readFileSync(keyPath, 'utf8')).toBe('from-file\n');
  });

  test("a config key takes the place of the generated key: used, nothing written, no 'back up the key file' warning, and health says 'generated'", async () => {
    const { logger, lines } = capturingLogger();
    const service = new EncryptionService({ encryptionKey: 'from-config', keyStoragePath: keyPath, logger });
    await service.initialize();
    expect(fs.existsSync(path.dirname(keyPath))).toBe(false);
    expect(lines.filter((line) => line.level === 'warn')).toEqual([]);
    expect(service.getHealthStatus().keySource).toBe('generated');
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

  test('a dangling symlink at the key path is reported as one (ERR_KEY_FILE), and nothing is generated', async () => {
    fs.mkdirSync(path.dirname(keyPath));
    fs.symlinkSync(path.join(dir, 'missing-target'), keyPath);
    const service = new EncryptionService({ keyStoragePath: keyPath });
    const failure = await service.initialize().catch((error: unknown) => error as Error);
    expect(failure).toMatchObject({ code: 'ERR_KEY_FILE', keyStoragePath: keyPath });
    expect((failure as Error).message).toContain('symbolic link whose target does not exist');
    expect(fs.existsSync(path.join(dir, 'missing-target'))).toBe(false);
    expect(fs.readdirSync(path.dirname(keyPath))).toEqual(['oauth_encryption_key']);
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

test('a key file published by another process between the read and the check is used, not taken for a dangling symlink', async () => {
  fs.mkdirSync(path.dirname(keyPath));
  let reads = 0;
  const service = new EncryptionService({ keyStoragePath: keyPath }, {
    fileSystem: {
      readFile: async (file) => {
        reads += 1;
        if (reads > 1) return fs.promises.readFile(file, 'utf8');
        // The rival publishes right after this read found nothing.
        fs.writeFileSync(keyPath, 'rival-key', { mode: 0o600 });
        throw fsError('ENOENT', 'open');
      },
    },
  });
  await service.initialize();
  expect(service.getHealthStatus().keySource).toBe('file');
  expect(legacyDecrypt('rival-key', await service.encrypt('x'))).toBe('x');
});

describe('FR-4: a key file readable by group or others is warned about, like ssh does', () => {
  test.each([['0644', 0o644], ['0666', 0o666], ['0640', 0o640]])('mode %s: one warning naming the path and the mode, never the key', async (_, mode) => {
    fs.mkdirSync(path.dirname(keyPath));
    fs.writeFileSync(keyPath, 'shared-secret-key');
    fs.chmodSync(keyPath, mode);
    const { logger, lines } = capturingLogger();
    await new EncryptionService({ keyStoragePath: keyPath, logger }).initialize();
    await new EncryptionService({ keyStoragePath: keyPath, logger }).initialize();
    const warnings = lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toEqual({ keyStoragePath: keyPath, mode: `0${mode.toString(8)}` });
    expect(warnings[0]!.message).toContain(keyPath);
    expect(warnings[0]!.message).toContain(`0${mode.toString(8)}`);
    for (const line of lines) expect(line.text).not.toContain('shared-secret-key');
  });

  test('a 0600 or 0400 key file draws no warning', async () => {
    fs.mkdirSync(path.dirname(keyPath));
    fs.writeFileSync(keyPath, 'private-key');
    const { logger, lines } = capturingLogger();
    fs.chmodSync(keyPath, 0o600);
    await new EncryptionService({ keyStoragePath: keyPath, logger }).initialize();
    fs.chmodSync(keyPath, 0o400);
    await new EncryptionService({ keyStoragePath: keyPath, logger }).initialize();
    expect(lines.filter((line) => line.level === 'warn')).toEqual([]);
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

describe('NFR-8: crypto before initialize() rejects', () => {
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
    // The original's text, which callers matched on, is still there.
    await expect(call(service, file)).rejects.toThrow('EncryptionService not initialized. Call initialize() first.');
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(service.hasPendingWrites()).toBe(false);
  });

  test('withFileLock needs no key', async () => {
    const service = new EncryptionService({ keyStoragePath: keyPath });
    expect(await service.withFileLock(path.join(dir, 'x'), () => 42)).toBe(42);
  });
});
