import { randomBytes } from 'node:crypto';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { isObject, isString, isTime } from './store-file.js';
import type { StoreLogger } from './store-logger.js';
import { StorePersistence } from './store-persistence.js';

/** One signed-in user's session, as stored in `oauth_sessions.enc`. Times are epoch ms. */
export interface UserSession {
  sessionId: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}

/** Options of a {@link PersistentSessionStore}; every field is optional. */
export interface SessionStoreOptions {
  /** How long a session lives. Default 24 h. */
  sessionExpiryMs?: number;
  /** The most sessions kept; creating one more drops the oldest. Default 100. */
  maxSessions?: number;
  /** Where background save failures and moved-aside files are reported. Default: `process.emitWarning`. */
  logger?: StoreLogger;
}

const isUserSession = (value: unknown): value is UserSession =>
  isObject(value) && isString(value.sessionId) && isString(value.userId) && isTime(value.createdAt) && isTime(value.expiresAt);

/**
 * Sessions kept in memory and persisted as one encrypted file (default
 * `~/.sage/oauth_sessions.enc`). `createSession`, `getSession` and
 * `deleteSession` return at once and save in the background; saves never
 * overlap and collapse into at most one running and one waiting.
 *
 * Hazard: a background save that fails is only logged; call `flush()` (or
 * `shutdown()`) to learn whether everything reached disk. Call
 * `loadFromStorage()` before using the store: it replaces what is in memory.
 */
export class PersistentSessionStore {
  readonly #sessions = new Map<string, UserSession>();
  readonly #expiryMs: number;
  readonly #maxSessions: number;
  readonly #file: StorePersistence<UserSession>;

  constructor(encryptionService: EncryptionService, storagePath?: string, options: SessionStoreOptions = {}) {
    this.#expiryMs = options.sessionExpiryMs ?? 24 * 60 * 60 * 1000;
    this.#maxSessions = Math.max(1, options.maxSessions ?? 100);
    this.#file = new StorePersistence(
      encryptionService,
      storagePath,
      { name: 'sessions', field: 'sessions', defaultFileName: 'oauth_sessions.enc', isRecord: isUserSession, records: () => this.#sessions.values() },
      options.logger,
    );
  }

  /** Replaces the sessions in memory with the file's, dropping expired ones and keeping the newest `maxSessions`. */
  async loadFromStorage(): Promise<void> {
    const records = await this.#file.load();
    const now = Date.now();
    const live = records.filter((session) => session.expiresAt > now).sort((a, b) => a.createdAt - b.createdAt);
    this.#sessions.clear();
    for (const session of live.slice(-this.#maxSessions)) this.#sessions.set(session.sessionId, { ...session });
  }

  /** Creates a session with a random 64-hex-digit id; saves in the background. */
  createSession(userId: string): UserSession {
    const createdAt = Date.now();
    const session: UserSession = { sessionId: randomBytes(32).toString('hex'), userId, createdAt, expiresAt: createdAt + this.#expiryMs };
    this.#sessions.set(session.sessionId, session);
    // A Map iterates in insertion order, and sessions are inserted oldest first.
    for (const oldest of this.#sessions.keys()) {
      if (this.#sessions.size <= this.#maxSessions) break;
      this.#sessions.delete(oldest);
    }
    this.#changed();
    return { ...session };
  }

  /** The session, or null when unknown or expired; an expired one is removed (saved in the background). */
  getSession(sessionId: string): UserSession | null {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return null;
    if (session.expiresAt <= Date.now()) {
      this.#sessions.delete(sessionId);
      this.#changed();
      return null;
    }
    return { ...session };
  }

  /** Removes the session, if present; saves in the background. */
  deleteSession(sessionId: string): void {
    if (this.#sessions.delete(sessionId)) this.#changed();
  }

  /**
   * Resolves once every change made before the call is on disk, after any
   * save already queued; rejects with the write's error if it cannot be
   * written (a later flush retries).
   */
  flush(): Promise<void> {
    return this.#file.saves.save();
  }

  /** Sessions held, and how many of them have expired but were not yet removed. */
  getMetrics(): { count: number; expiredCount: number } {
    const now = Date.now();
    let expiredCount = 0;
    for (const session of this.#sessions.values()) if (session.expiresAt <= now) expiredCount += 1;
    return { count: this.#sessions.size, expiredCount };
  }

  #changed(): void {
    this.#file.saves.markChanged();
    this.#file.saves.saveInBackground((error) =>
      this.#file.reportFailedSave(error, 'background save of the session store failed; the next flush() retries it'),
    );
  }
}
