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
  const saltBytes = randomBytes(16);
  const ivBytes = randomBytes(16);
  const key = await scryptAsync(secret, saltBytes, 32);
  const cipher = createCipheriv(OLD_ALGORITHM, key, ivBytes);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const payload = [saltBytes, ivBytes, cipher.getAuthTag(), ciphertext].map((part) => part.toString('hex')).join(':');
  // The one shared temp name per target: the defect this recipe reproduces.
  const sharedTemp = `${filePath}.tmp`;
  await writeFile(sharedTemp, payload, { mode: 0o600 });
  await rename(sharedTemp, filePath);
}
