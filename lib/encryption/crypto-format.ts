/**
 * The on-disk payload format, byte-compatible with the original service:
 * `salt:iv:authTag:ciphertext`, lower-case hex, AES-256-GCM under
 * `scrypt(secret, salt, 32)` with Node's default cost (N=16384, r=8, p=1).
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { DecryptionError } from './encryption-errors.js';

/** Bytes of salt, IV and auth tag in every payload, and of the AES-256 key. */
export const SALT_BYTES = 16;
/** @see SALT_BYTES */
export const IV_BYTES = 16;
/** @see SALT_BYTES */
export const AUTH_TAG_BYTES = 16;
/** @see SALT_BYTES */
export const KEY_BYTES = 32;
const ALGORITHM = 'aes-256-gcm';

/** Derives the AES key for a salt; the default is {@link scryptKey}. */
export type DeriveKey = (secret: string, salt: Buffer) => Promise<Buffer>;

/** scrypt on libuv's thread pool, so a derivation never blocks the event loop. */
export const scryptKey: DeriveKey = (secret, salt) =>
  new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, (error, key) => (error === null ? resolve(key) : reject(error)));
  });

/** A payload split into its parts, all lengths checked. */
export interface ParsedPayload {
  readonly salt: Buffer;
  readonly iv: Buffer;
  readonly authTag: Buffer;
  readonly ciphertext: Buffer;
}

/** Encrypts under `key`, which must be the key derived for `salt`; a fresh IV every call. */
export function encryptWithKey(plaintext: string, salt: Buffer, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [salt, iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('hex')).join(':');
}

/**
 * Splits and checks a payload without any key. Surrounding whitespace is
 * ignored (a trailing newline from an editor). Throws DecryptionError naming
 * the check that failed, never the content.
 */
export function parsePayload(payload: string): ParsedPayload {
  const text = payload.trim();
  if (text === '') throw new DecryptionError('the payload is empty');
  const parts = text.split(':');
  if (parts.length !== 4) throw new DecryptionError(`expected 4 colon-separated parts, got ${parts.length}`);
  const [salt, iv, authTag, ciphertext] = parts as [string, string, string, string];
  return {
    salt: fromHex('salt', salt, SALT_BYTES),
    iv: fromHex('IV', iv, IV_BYTES),
    authTag: fromHex('auth tag', authTag, AUTH_TAG_BYTES),
    ciphertext: fromHex('ciphertext', ciphertext),
  };
}

/** Decrypts and authenticates; a wrong key or any altered byte throws DecryptionError. */
export function decryptWithKey(parsed: ParsedPayload, key: Buffer): string {
  try {
    // authTagLength pins the tag at 16 bytes: Node would otherwise accept a truncated tag.
    const decipher = createDecipheriv(ALGORITHM, key, parsed.iv, { authTagLength: AUTH_TAG_BYTES });
    decipher.setAuthTag(parsed.authTag);
    return Buffer.concat([decipher.update(parsed.ciphertext), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new DecryptionError('authentication failed: the payload was altered or written under another key', { cause: error, isAuthenticationFailure: true });
  }
}

function fromHex(name: string, text: string, expectedBytes?: number): Buffer {
  const bytes = Buffer.from(text, 'hex');
  // Buffer.from stops at the first non-hex character and drops an odd last digit; a length check catches both.
  if (bytes.length * 2 !== text.length) throw new DecryptionError(`the ${name} is not hex`);
  if (expectedBytes !== undefined && bytes.length !== expectedBytes) {
    throw new DecryptionError(`the ${name} is ${bytes.length} bytes, expected ${expectedBytes}`);
  }
  return bytes;
}
