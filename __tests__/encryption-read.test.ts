/**
 * Issue 3, behaviours 7 and 8: decryptFromFile resolves null only for a
 * missing file; every other failure rejects (NFR-8) with a DecryptionError
 * or the file system's own code, and nothing secret reaches an error or a
 * log line (NFR-4).
 */
import fs from 'node:fs';
import path from 'node:path';
import { scryptKey } from '../lib/encryption/crypto-format.js';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { DecryptionError } from '../lib/encryption/encryption-errors.js';
import { capturingLogger, faultySeam, legacyEncrypt, siblingKeyFile } from './fixtures/encryption/helpers.js';
import { fsError, makeTempDir, removeTempDir } from './helpers/common.js';

const SECRET = 'read-test-secret-5f0c2a';
const PLAINTEXT = 'PLAINTEXT-MARKER {"refreshToken":"rt-9d8c7b"}';

let dir: string;
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

async function createService(): Promise<EncryptionService> {
  const service = new EncryptionService({ encryptionKey: SECRET, keyStoragePath: siblingKeyFile(dir, SECRET) });
  await service.initialize();
  return service;
}

/** A valid payload of PLAINTEXT under SECRET, split into its hex parts. */
function validParts(): [string, string, string, string] {
  return legacyEncrypt(SECRET, PLAINTEXT).split(':') as [string, string, string, string];
}

const flip = (hex: string, at = 0): string => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);

describe('FR-3.3: null only for a missing file', () => {
  test('a missing file, or a file in a missing directory, resolves null', async () => {
    const service = await createService();
    expect(await service.decryptFromFile(path.join(dir, 'missing.enc'))).toBeNull();
    expect(await service.decryptFromFile(path.join(dir, 'no', 'such', 'dir.enc'))).toBeNull();
  });

  test('a directory where the file should be rejects with EISDIR', async () => {
    const service = await createService();
    fs.mkdirSync(path.join(dir, 'sessions.enc'));
    await expect(service.decryptFromFile(path.join(dir, 'sessions.enc'))).rejects.toMatchObject({ code: 'EISDIR' });
  });

  test('a path under a regular file rejects with ENOTDIR', async () => {
    const service = await createService();
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    await expect(service.decryptFromFile(path.join(dir, 'plain', 'sessions.enc'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  test('any other read error keeps its code (EACCES, EIO)', async () => {
    const seam = faultySeam();
    const service = new EncryptionService({ encryptionKey: SECRET, keyStoragePath: siblingKeyFile(dir, SECRET) }, { fileSystem: seam.fileSystem });
    await service.initialize();
    const file = path.join(dir, 'sessions.enc');
    await service.encryptToFile(PLAINTEXT, file);
    for (const code of ['EACCES', 'EIO']) {
      seam.arm('readFile', fsError(code, 'read'));
      await expect(service.decryptFromFile(file)).rejects.toMatchObject({ code });
    }
    expect(await service.decryptFromFile(file)).toBe(PLAINTEXT);
  });
});

describe('NFR-8: a bad payload rejects with DecryptionError, names the file, shows no content, and is left alone', () => {
  const cases: [string, () => string, RegExp][] = [
    ['an empty file', () => '', /empty/],
    ['a file of whitespace', () => ' \n', /empty/],
    ['plain text', () => 'this is not an encrypted file', /expected 4 colon-separated parts, got 1/],
    ['three parts instead of four', () => validParts().slice(0, 3).join(':'), /got 3/],
    ['five parts', () => [...validParts(), '00'].join(':'), /got 5/],
    ['non-hex salt', () => { const [, iv, tag, data] = validParts(); return ['g'.repeat(32), iv, tag, data].join(':'); }, /salt is not hex/],
    ['non-hex ciphertext', () => { const [salt, iv, tag, data] = validParts(); return [salt, iv, tag, `${data}zz`].join(':'); }, /ciphertext is not hex/],
    ['an odd number of hex digits', () => { const [salt, iv, tag, data] = validParts(); return [salt, iv, tag, `${data}a`].join(':'); }, /ciphertext is not hex/],
    ['a short salt', () => { const [salt, iv, tag, data] = validParts(); return [salt.slice(2), iv, tag, data].join(':'); }, /salt is 15 bytes, expected 16/],
    ['a 12-byte IV', () => { const [salt, iv, tag, data] = validParts(); return [salt, iv.slice(8), tag, data].join(':'); }, /IV is 12 bytes, expected 16/],
    ['a truncated auth tag', () => { const [salt, iv, tag, data] = validParts(); return [salt, iv, tag.slice(16), data].join(':'); }, /auth tag is 8 bytes, expected 16/],
    ['a truncated ciphertext', () => { const [salt, iv, tag, data] = validParts(); return [salt, iv, tag, data.slice(0, -2)].join(':'); }, /authentication failed/],
    ['one flipped byte of ciphertext', () => { const [salt, iv, tag, data] = validParts(); return [salt, iv, tag, flip(data, 10)].join(':'); }, /authentication failed/],
    ['one flipped byte of the tag', () => { const [salt, iv, tag, data] = validParts(); return [salt, iv, flip(tag), data].join(':'); }, /authentication failed/],
    ['another key', () => legacyEncrypt('another-secret', PLAINTEXT), /authentication failed/],
  ];

  test.each(cases)('%s', async (_kind, makePayload, reason) => {
    const service = await createService();
    const file = path.join(dir, 'sessions.enc');
    const payload = makePayload();
    fs.writeFileSync(file, payload);
    const failure = await service.decryptFromFile(file).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DecryptionError);
    expect(failure).toMatchObject({ name: 'DecryptionError', code: 'ERR_DECRYPT', filePath: file });
    const { message, stack } = failure as Error;
    expect(message).toMatch(reason);
    expect(message).toContain(file);
    for (const part of payload.split(/[:\s]/).filter((text) => text.length >= 8)) {
      expect(message).not.toContain(part);
      expect(stack).not.toContain(part);
    }
    expect(message).not.toContain('PLAINTEXT-MARKER');
    expect(fs.readFileSync(file, 'utf8')).toBe(payload);
    await expect(service.decrypt(payload)).rejects.toMatchObject({ code: 'ERR_DECRYPT', filePath: undefined });
  });

  test('upper-case hex, which the original service accepted, still decrypts', async () => {
    const service = await createService();
    expect(await service.decrypt(legacyEncrypt(SECRET, PLAINTEXT).toUpperCase())).toBe(PLAINTEXT);
  });

  test('a 50 MB file of garbage rejects with DecryptionError; a 50 MB valid file decrypts', async () => {
    const service = await createService();
    const garbage = path.join(dir, 'garbage.enc');
    fs.writeFileSync(garbage, Buffer.alloc(50 * 1024 * 1024, 'x'));
    await expect(service.decryptFromFile(garbage)).rejects.toMatchObject({ code: 'ERR_DECRYPT', reason: 'expected 4 colon-separated parts, got 1' });
    const big = path.join(dir, 'big.enc');
    const plaintext = 'y'.repeat(25 * 1024 * 1024);
    await service.encryptToFile(plaintext, big);
    expect(fs.statSync(big).size).toBeGreaterThan(50 * 1024 * 1024);
    expect((await service.decryptFromFile(big)) === plaintext).toBe(true);
  });
});

describe('NFR-4: no secret in any error or log line', () => {
  test('key, derived keys and plaintext never appear in log lines, warnings, error messages or stacks', async () => {
    const { logger, lines } = capturingLogger();
    const derivedKeys: string[] = [];
    const seam = faultySeam();
    const keyStoragePath = path.join(dir, 'keys', 'key');
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const texts: string[] = [];
    const collect = (error: unknown): void => {
      const { message, stack, cause, cleanupErrors } = error as Error & { cleanupErrors?: unknown[] };
      texts.push(message, String(stack), String(cause), JSON.stringify(error), ...(cleanupErrors ?? []).map(String));
    };
    try {
      const service = new EncryptionService({ keyStoragePath, logger, queue: { depthWarningThreshold: 1 } }, {
        fileSystem: seam.fileSystem,
        deriveKey: async (secret, salt) => {
          const key = await scryptKey(secret, salt);
          derivedKeys.push(key.toString('hex'));
          return key;
        },
      });
      await service.initialize();
      const file = path.join(dir, 'sessions.enc');
      await Promise.all([1, 2, 3].map((n) => service.encryptToFile(`${PLAINTEXT} ${n}`, file)));
      for (const operation of ['write', 'fsync', 'rename'] as const) {
        seam.arm(operation, fsError('EIO', operation));
        await service.encryptToFile(PLAINTEXT, file).catch(collect);
      }
      fs.writeFileSync(path.join(dir, 'foreign.enc'), legacyEncrypt('another-secret', PLAINTEXT));
      await service.decryptFromFile(path.join(dir, 'foreign.enc')).catch(collect);
      await service.decrypt('not:a:valid:payload').catch(collect);
      // A default-logger service too: its warnings go through process.emitWarning.
      const quiet = new EncryptionService({ keyStoragePath: path.join(dir, 'other-keys', 'key') });
      await quiet.initialize();
      await quiet.decryptFromFile(file).catch(collect);
      const secrets = [fs.readFileSync(keyStoragePath, 'utf8'), fs.readFileSync(path.join(dir, 'other-keys', 'key'), 'utf8'), ...derivedKeys, 'PLAINTEXT-MARKER', 'rt-9d8c7b'];
      expect(derivedKeys.length).toBeGreaterThanOrEqual(2);
      expect(texts.length).toBeGreaterThanOrEqual(15);
      expect(lines.length).toBeGreaterThanOrEqual(3);
      const warnings = emitWarning.mock.calls.map(([warning]) => `${String(warning)} ${JSON.stringify(warning)} ${(warning as Error).stack}`);
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      for (const text of [...texts, ...lines.map((line) => line.text), ...warnings]) {
        for (const secret of secrets) expect(text).not.toContain(secret);
      }
    } finally {
      emitWarning.mockRestore();
    }
  });
});
