/**
 * A key bound to its salt, for the stores' snapshot and journal. The
 * snapshot keeps the original `salt:iv:authTag:ciphertext` hex payload; a
 * journal line is the shorter `iv.authTag.ciphertext` in base64, its salt
 * named once in the journal's header. Both are AES-256-GCM, authenticated.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AUTH_TAG_BYTES, IV_BYTES, decryptWithKey, encryptWithKey, parsePayload } from './crypto-format.js';
import { DecryptionError } from './encryption-errors.js';

const ALGORITHM = 'aes-256-gcm';
const EMPTY = Buffer.alloc(0);
const COLON = 0x3a;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function firstNonSpace(bytes: Buffer): number {
  let at = 0;
  while (at < bytes.length && WHITESPACE.has(bytes[at]!)) at += 1;
  return at;
}

/** Encrypts and decrypts under one derived key; every call is synchronous and costs no scrypt. */
export class KeyedCodec {
  readonly #salt: Buffer;
  readonly #key: Buffer;
  /** The salt, lower-case hex: what a journal header names. */
  readonly saltHex: string;

  constructor(salt: Buffer, key: Buffer) {
    this.#salt = salt;
    this.#key = key;
    this.saltHex = salt.toString('hex');
  }

  /** A payload in the original format, readable by the original server. */
  sealPayload(plaintext: string): string {
    return encryptWithKey(plaintext, this.#salt, this.#key);
  }

  /** Decrypts a payload written under this codec's salt; DecryptionError otherwise. */
  openPayload(payload: string): string {
    const parsed = parsePayload(payload);
    if (!parsed.salt.equals(this.#salt)) throw new DecryptionError('the payload was written under another salt');
    return decryptWithKey(parsed, this.#key);
  }

  /**
   * Like openPayload for a whole file's bytes, without the copies a string
   * split makes (a 100,000-record store file is 40 MB of hex).
   */
  openPayloadBytes(bytes: Buffer): string {
    const start = firstNonSpace(bytes);
    const colons: number[] = [];
    for (let at = bytes.indexOf(COLON, start); at >= 0 && colons.length < 4; at = bytes.indexOf(COLON, at + 1)) colons.push(at);
    if (colons.length !== 3) return this.openPayload(bytes.toString('latin1'));
    let end = bytes.length;
    while (end > start && WHITESPACE.has(bytes[end - 1]!)) end -= 1;
    const third = colons[2] ?? 0;
    // The short parts go through the string parser (its checks and messages); the long one is decoded in place.
    const head = parsePayload(`${bytes.toString('latin1', start, third)}:00`);
    if (!head.salt.equals(this.#salt)) throw new DecryptionError('the payload was written under another salt');
    const hexLength = end - third - 1;
    const ciphertext = Buffer.from(bytes.toString('latin1', third + 1, end), 'hex');
    if (ciphertext.length * 2 !== hexLength || hexLength === 0) throw new DecryptionError('the ciphertext is not hex');
    return decryptWithKey({ ...head, ciphertext }, this.#key);
  }

  /** One journal line (no newline): base64 of IV, tag and ciphertext joined by dots. */
  sealLine(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${iv.toString('base64')}.${cipher.getAuthTag().toString('base64')}.${ciphertext.toString('base64')}`;
  }

  /** Authenticates and decrypts one journal line; any altered or missing byte throws DecryptionError. */
  openLine(line: string): string {
    const parts = line.split('.');
    if (parts.length !== 3) throw new DecryptionError(`expected 3 dot-separated parts, got ${parts.length}`);
    const [iv = EMPTY, tag = EMPTY, ciphertext = EMPTY] = parts.map((part) => Buffer.from(part, 'base64'));
    if (iv.length !== IV_BYTES || tag.length !== AUTH_TAG_BYTES) throw new DecryptionError('the IV or auth tag has the wrong length');
    try {
      const decipher = createDecipheriv(ALGORITHM, this.#key, iv, { authTagLength: AUTH_TAG_BYTES });
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new DecryptionError('authentication failed: the line was altered, torn or written under another key', { cause: error });
    }
  }
}
