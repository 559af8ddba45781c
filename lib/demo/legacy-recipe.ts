import { createCipheriv, randomBytes, scrypt } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

/** The old service's cipher (the format this library keeps). */
const OLD_ALGORITHM = 'aes-256-gcm';

const scryptAsync = promisify(scrypt) as (secret: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/**
 * The save recipe this library replaces, kept only so the demonstration and
 * the benchmark can reproduce the bug: scrypt on every write, a fixed
 * `<file>.tmp` shared by every save, no lock and no fsync. Two saves in
 * flight collide: the first renames the temp away, the second's rename fails
 * with ENOENT. Never use it for real data.
 */
export async function legacyEncryptToFile(secret: string, plaintext: string, filePath: string): Promise<void> {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = await scryptAsync(secret, salt, 32);
  const cipher = createCipheriv(OLD_ALGORITHM, key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const payload = [salt, iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('hex')).join(':');
  const tempPath = `${filePath}.tmp`;
  await writeFile(tempPath, payload, { mode: 0o600 });
  await rename(tempPath, filePath);
}
