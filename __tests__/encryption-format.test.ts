/**
 * Issue 3, behaviours 1 and 2: the payload format is byte-compatible with the
 * original service, and key derivation is paid once per salt, not per save.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { decryptWithKey, encryptWithKey, parsePayload, scryptKey, type DeriveKey } from '../lib/encryption/crypto-format.js';
import { DecryptionError } from '../lib/encryption/encryption-errors.js';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { DerivedKeyCache } from '../lib/encryption/derived-key-cache.js';
import { legacyDecrypt, legacyEncrypt, legacyFixture } from './fixtures/encryption/helpers.js';
import { makeTempDir, removeTempDir } from './helpers/common.js';

// Repeated from fixtures/encryption/make-legacy.mjs, which made legacy.enc with the plain node:crypto recipe.
const LEGACY_SECRET = 'legacy-fixture-secret-not-used-anywhere-else';
const LEGACY_PLAINTEXT = JSON.stringify({ version: 1, sessions: [{ id: 'fixture-session', user: 'ada', expiresAt: 1767225600000 }] });

let dir: string;
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

/** A deriveKey that counts its calls and derives with the real scrypt. */
function countingDerive(): { deriveKey: DeriveKey; count: () => number } {
  let calls = 0;
  return {
    deriveKey: (secret, salt) => {
      calls += 1;
      return scryptKey(secret, salt);
    },
    count: () => calls,
  };
}

async function serviceWith(secret: string, deriveKey?: DeriveKey): Promise<EncryptionService> {
  const service = new EncryptionService({ encryptionKey: secret, keyStoragePath: path.join(dir, 'key') }, { deriveKey });
  await service.initialize();
  return service;
}

describe('FR-3.1: the file format of the original service', () => {
  test('a fixture written with the plain node:crypto recipe decrypts here', async () => {
    const service = await serviceWith(LEGACY_SECRET);
    expect(await service.decryptFromFile(legacyFixture)).toBe(LEGACY_PLAINTEXT);
    expect(await service.decrypt(fs.readFileSync(legacyFixture, 'utf8'))).toBe(LEGACY_PLAINTEXT);
  });

  test('a file written here decrypts with the plain node:crypto recipe', async () => {
    const service = await serviceWith(LEGACY_SECRET);
    const file = path.join(dir, 'sessions.enc');
    await service.encryptToFile(LEGACY_PLAINTEXT, file);
    expect(legacyDecrypt(LEGACY_SECRET, fs.readFileSync(file, 'utf8'))).toBe(LEGACY_PLAINTEXT);
    expect(legacyDecrypt(LEGACY_SECRET, await service.encrypt('ünïcödé ✓'))).toBe('ünïcödé ✓');
  });

  test('the payload is salt:iv:authTag:ciphertext in lower-case hex with 16-byte salt, IV and tag', async () => {
    const service = await serviceWith('k');
    const parts = (await service.encrypt('hello')).split(':');
    expect(parts).toHaveLength(4);
    for (const part of parts) expect(part).toMatch(/^[0-9a-f]+$/);
    expect(parts.slice(0, 3).map((part) => part.length)).toEqual([32, 32, 32]);
    expect(parts[3]).toHaveLength(2 * Buffer.byteLength('hello'));
  });

  test('every payload gets a fresh IV, so equal plaintexts never give equal payloads', async () => {
    const service = await serviceWith('k');
    const [a, b] = [await service.encrypt('same'), await service.encrypt('same')];
    expect(a.split(':')[1]).not.toBe(b.split(':')[1]);
    expect(a).not.toBe(b);
  });

  test('the empty string round-trips (an empty ciphertext part is valid)', async () => {
    const service = await serviceWith('k');
    const payload = await service.encrypt('');
    expect(payload.endsWith(':')).toBe(true);
    expect(await service.decrypt(payload)).toBe('');
    expect(await service.decrypt(legacyEncrypt('k', ''))).toBe('');
  });

  test('a trailing newline, as an editor leaves it, is ignored', async () => {
    const service = await serviceWith('k');
    expect(await service.decrypt(`${legacyEncrypt('k', 'x')}\n`)).toBe('x');
  });
});

describe('NFR-1: key derivation is paid once, not per write', () => {
  test('a steady stream of saves and reads runs no scrypt after initialize()', async () => {
    const derive = countingDerive();
    const service = await serviceWith('k', derive.deriveKey);
    expect(derive.count()).toBe(1);
    const file = path.join(dir, 'stream.enc');
    for (let i = 0; i < 50; i += 1) {
      await service.encryptToFile(`save ${i}`, file);
      expect(await service.decryptFromFile(file)).toBe(`save ${i}`);
    }
    await service.encrypt('more');
    expect(derive.count()).toBe(1);
  });

  test('a salt read from a file is derived once and then cached, also for concurrent reads', async () => {
    const derive = countingDerive();
    const service = await serviceWith(LEGACY_SECRET, derive.deriveKey);
    const copies = ['a.enc', 'b.enc', 'c.enc'].map((name) => path.join(dir, name));
    for (const copy of copies) fs.copyFileSync(legacyFixture, copy);
    const texts = await Promise.all([...copies, ...copies].map((copy) => service.decryptFromFile(copy)));
    expect(texts).toEqual(Array(6).fill(LEGACY_PLAINTEXT));
    expect(await service.decryptFromFile(legacyFixture)).toBe(LEGACY_PLAINTEXT);
    expect(derive.count()).toBe(2);
  });

  test('a derivation that fails is not cached: the next read derives again', async () => {
    let shouldFail = true;
    let calls = 0;
    const service = await serviceWith(LEGACY_SECRET, (secret, salt) => {
      calls += 1;
      if (calls === 2 && shouldFail) return Promise.reject(Object.assign(new Error('thread pool gone'), { code: 'ERR_TEST' }));
      return scryptKey(secret, salt);
    });
    await expect(service.decryptFromFile(legacyFixture)).rejects.toMatchObject({ code: 'ERR_TEST' });
    shouldFail = false;
    expect(await service.decryptFromFile(legacyFixture)).toBe(LEGACY_PLAINTEXT);
  });

  test('the derived-key cache is bounded and evicts the least recently used salt', async () => {
    const cache = new DerivedKeyCache(2);
    let derivations = 0;
    const derive = () => {
      derivations += 1;
      return Promise.resolve(Buffer.alloc(32));
    };
    await cache.get('a', derive);
    await cache.get('b', derive);
    await cache.get('a', derive);
    await cache.get('c', derive);
    expect(cache.size).toBe(2);
    await cache.get('a', derive);
    expect(derivations).toBe(3);
    await cache.get('b', derive);
    expect(derivations).toBe(4);
  });
});

describe('FR-3.1, NFR-8: the payload functions on their own', () => {
  const key = crypto.randomBytes(32);
  const salt = crypto.randomBytes(16);

  test('a payload with a truncated (8-byte) auth tag never authenticates, even past the parser', () => {
    const parsed = parsePayload(encryptWithKey('secret data', salt, key));
    expect(decryptWithKey(parsed, key)).toBe('secret data');
    // Node would accept an 8-byte GCM tag and check only those bytes; the 16-byte pin refuses it.
    const truncated = { ...parsed, authTag: parsed.authTag.subarray(0, 8) };
    expect(() => decryptWithKey(truncated, key)).toThrow(DecryptionError);
    expect(() => decryptWithKey(truncated, key)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPT', isAuthenticationFailure: true }) as Error);
  });

  test('a malformed payload is not an authentication failure; another key is', () => {
    expect(() => parsePayload('')).toThrow(expect.objectContaining({ isAuthenticationFailure: false, reason: 'the payload is empty' }) as Error);
    const parsed = parsePayload(encryptWithKey('x', salt, key));
    expect(() => decryptWithKey(parsed, crypto.randomBytes(32))).toThrow(
      expect.objectContaining({ isAuthenticationFailure: true, reason: 'authentication failed: the payload was altered or written under another key' }) as Error,
    );
  });

  test('a scrypt that fails on the thread pool rejects with its error, never resolves a key', async () => {
    const failure = Object.assign(new Error('out of memory'), { code: 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS' });
    const spy = jest.spyOn(crypto, 'scrypt').mockImplementationOnce(((...args: unknown[]) => {
      (args.at(-1) as (error: Error | null, key?: Buffer) => void)(failure);
    }) as typeof crypto.scrypt);
    try {
      await expect(scryptKey('k', salt)).rejects.toBe(failure);
    } finally {
      spy.mockRestore();
    }
    expect(await scryptKey('k', salt)).toEqual(crypto.scryptSync('k', salt, 32));
  });
});
