import { randomBytes } from 'node:crypto';
import type { SessionStore } from '../stores/contract.js';
import type { UserSession } from '../stores/session-store.js';
import { isLookupId, requirePositive, requireText } from './input-checks.js';
import { openRecord, sealRecord, SESSION } from './record-codec.js';
import type { RedisBackend } from './redis-backend.js';
import { RedisRecordError } from './redis-errors.js';

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

  constructor(backend: RedisBackend, options: RedisSessionStoreOptions = {}) {
    const { sessionExpiryMs = 24 * 60 * 60 * 1000 } = options;
    requirePositive('sessionExpiryMs', sessionExpiryMs);
    this.#backend = backend;
    this.#expiryMs = sessionExpiryMs;
  }

  /** Creates a session with a random 64-hex-digit id; resolves once Redis stored it. */
  async createSession(userId: string): Promise<UserSession> {
    requireText('userId', userId);
    const createdAt = Date.now();
    const session: UserSession = { sessionId: randomBytes(32).toString('hex'), userId, createdAt, expiresAt: createdAt + this.#expiryMs };
    const names = await this.#backend.names();
    const sealed = await sealRecord(this.#backend.encryption, session);
    const reply = await this.#backend.call(['SET', names.session(session.sessionId), sealed, 'PXAT', String(session.expiresAt)]);
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
