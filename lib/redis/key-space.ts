/**
 * Redis key names that leak nothing usable. A session id, token or client id
 * never appears in a key: keys carry HMAC-SHA-256(id) under a 32-byte key of
 * their own (the "hash key"), so MONITOR, KEYS, SCAN and slow logs show only
 * digests that cannot be turned back into a credential or looked up without
 * the hash key.
 *
 * The hash key is derived from the EncryptionService's secret (HKDF-SHA-256,
 * labelled; see ServiceInternals.namingKey), never stored: every process
 * holding the secret computes the same names, and there is nothing in Redis
 * whose loss (restart with an empty dataset, FLUSHALL, a deleted key) could
 * make hosts disagree. A new secret means new names, as it already means
 * unreadable values. The derivation is not the file key's (scrypt under a
 * random salt), and a digest reveals nothing about the secret.
 */
import { createHmac } from 'node:crypto';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { internalsOf } from '../encryption/service-internals.js';

/** Digests remembered per process: a session is looked up on every request, and an HMAC costs about as much as the rest of a lookup. */
const DIGEST_CACHE_SIZE = 4096;
/** An HMAC-SHA-256 digest in base64url: 43 characters, no colon (so `app:ti:s:…` of a nested prefix `app:ti:` never matches). */
const DIGEST_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** The HKDF info label of the hash key: a different label gives an unrelated key. */
export const KEY_NAMING_LABEL = 'redis-key-hash/v1';

/** The key names of one prefix, once the hash key is known. */
export class KeyNames {
  readonly #prefix: string;
  readonly #hashKey: Buffer;
  // Least recently used first. It holds ids this process was handed anyway; nothing leaves the process.
  readonly #digests = new Map<string, string>();

  constructor(prefix: string, hashKey: Buffer) {
    this.#prefix = prefix;
    this.#hashKey = hashKey;
  }

  /** A session's string key. */
  session(sessionId: string): string {
    return `${this.#prefix}s:${this.#digest('session', sessionId)}`;
  }

  /** A refresh token's hash key. */
  token(token: string): string {
    return `${this.#prefix}t:${this.#digest('token', token)}`;
  }

  /** The digest of a client id: a client's record is `c:<digest>`, its token index `ti:<digest>`. */
  clientDigest(clientId: string): string {
    return this.#digest('client', clientId);
  }

  /** A client's record key. */
  client(clientId: string): string {
    return `${this.#prefix}c:${this.clientDigest(clientId)}`;
  }

  /** The set of a client's token keys (what `revokeAllForClient` deletes). */
  clientTokenIndex(clientId: string): string {
    return `${this.#prefix}ti:${this.clientDigest(clientId)}`;
  }

  /** The prefix of every token key (what an index of this prefix may hold). */
  get tokenKeyPrefix(): string {
    return `${this.#prefix}t:`;
  }

  /** Whether `key` has the shape of a token index of this prefix: the index prefix and one digest, nothing more. */
  isTokenIndex(key: string): boolean {
    return key.startsWith(this.tokenIndexPrefix) && DIGEST_SHAPE.test(key.slice(this.tokenIndexPrefix.length));
  }

  /** The prefix of every token index key; the scripts append a digest to it. */
  get tokenIndexPrefix(): string {
    return `${this.#prefix}ti:`;
  }

  // The kind goes into the MAC so one string used as a session id and as a token gives two unrelated names.
  #digest(kind: string, id: string): string {
    const input = `${kind}\0${id}`;
    let digest = this.#digests.get(input);
    if (digest !== undefined) {
      this.#digests.delete(input);
    } else {
      digest = createHmac('sha256', this.#hashKey).update(input).digest('base64url');
      if (this.#digests.size >= DIGEST_CACHE_SIZE) this.#digests.delete(this.#digests.keys().next().value as string);
    }
    this.#digests.set(input, digest);
    return digest;
  }
}

/** Derives the key names from the service's secret on first use (after `initialize()`); nothing is read from Redis. */
export class KeySpace {
  readonly #prefix: string;
  readonly #encryption: EncryptionService;
  #names: KeyNames | undefined;

  constructor(prefix: string, encryption: EncryptionService) {
    this.#prefix = prefix;
    this.#encryption = encryption;
  }

  /** The key names; rejects with NotInitializedError (`ERR_NOT_INITIALIZED`) before the service's `initialize()`. */
  names(): Promise<KeyNames> {
    try {
      this.#names ??= new KeyNames(this.#prefix, internalsOf(this.#encryption).namingKey(KEY_NAMING_LABEL));
      return Promise.resolve(this.#names);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
