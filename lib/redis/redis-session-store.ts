import { randomBytes } from 'node:crypto';
import type { SessionStore } from '../stores/contract.js';
import type { UserSession } from '../stores/session-store.js';
import { requireBoundedString } from '../stores/record-rules.js';
import { InvalidArgumentError } from '../stores/store-errors.js';
import { MAX_DATE_MS, numberOption } from '../support/options.js';
import { isLookupId, redisTime } from './input-checks.js';
import { openRecord, sealRecord, SESSION } from './record-codec.js';
import type { RedisBackend } from './redis-backend.js';
import { RedisRecordError } from './redis-errors.js';

/** The file store's range: a fraction of a ms is accepted (and rounded up where it goes to Redis). */
const SESSION_EXPIRY_MS = Object.freeze({ min: 0, max: MAX_DATE_MS, unit: 'ms' });

/** Options of a {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions {
  /** How long a session lives. Default 24 h. */
  sessionExpiryMs?: number;
}

/**
 * Sessions in Redis, one encrypted string per session under a hashed key
 * that Redis itself expires at `expiresAt` (SET … PXAT): no sweeper. Every
 * method resolves only after Redis replied; every host sees a change as soon
 * as it resolved. There is no `maxSessions` cap: Redis memory is the bound.
 */
export class RedisSessionStore implements SessionStore {
  readonly #backend: RedisBackend;
  readonly #expiryMs: number;

  /**
   * Throws as PersistentSessionStore does: InvalidArgumentError
   * (`ERR_INVALID_ARGUMENT`) for options that are not an object,
   * OptionRangeError (`ERR_OPTION_RANGE`) for a `sessionExpiryMs` outside its range.
   */
  constructor(backend: RedisBackend, options: RedisSessionStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
    this.#backend = backend;
    this.#expiryMs = numberOption('sessionExpiryMs', options.sessionExpiryMs, 24 * 60 * 60 * 1000, SESSION_EXPIRY_MS);
  }

  /**
   * Creates a session with a random 64-hex-digit id; resolves once Redis stored it.
   * Rejects with InvalidArgumentError (`ERR_INVALID_ARGUMENT`) when `userId` is
   * not a string of at most 65,536 characters (an empty one is fine), as the file store.
   */
  async createSession(userId: string): Promise<UserSession> {
    requireBoundedString(userId, 'userId');
    const createdAt = Date.now();
    const session: UserSession = { sessionId: randomBytes(32).toString('hex'), userId, createdAt, expiresAt: createdAt + this.#expiryMs };
    const names = await this.#backend.names();
    const sealed = await sealRecord(this.#backend.encryption, session);
    const reply = await this.#backend.call(['SET', names.session(session.sessionId), sealed, 'PXAT', redisTime(session.expiresAt)]);
    if (reply !== 'OK') throw new RedisRecordError('session', 'SET was not acknowledged');
    return { ...session };
  }

  /** The session, or null when unknown or expired (by Redis's clock or this host's). */
  async getSession(sessionId: string): Promise<UserSession | null> {
    if (!isLookupId(sessionId)) return null;
    const names = await this.#backend.names();
    const sealed = await this.#backend.call(['GET', names.session(sessionId)]);
    if (sealed === null) return null;
    const session = await openRecord(this.#backend.encryption, SESSION, sessionId, sealed);
    return session.expiresAt > Date.now() ? session : null;
  }

  /** Removes the session, if present; resolves once Redis did. */
  async deleteSession(sessionId: string): Promise<void> {
    if (!isLookupId(sessionId)) return;
    const names = await this.#backend.names();
    await this.#backend.call(['DEL', names.session(sessionId)]);
  }

  /** Resolves at once: every change already resolved only once Redis acknowledged it. */
  async flush(): Promise<void> {}
}
