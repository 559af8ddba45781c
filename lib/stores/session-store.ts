import { randomBytes } from 'node:crypto';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { COUNT, MAX_DATE_MS, numberOption } from '../support/options.js';
import { isUserSession, requireBoundedString, type UserSession } from './record-rules.js';
import { InvalidArgumentError } from './store-errors.js';
import type { StoreLogger } from './store-logger.js';
import { StorePersistence } from './store-persistence.js';

export type { UserSession } from './record-rules.js';

const SESSION_EXPIRY_MS = Object.freeze({ min: 0, max: MAX_DATE_MS, unit: 'ms' });
const MAX_SESSIONS = Object.freeze({ ...COUNT, min: 1 });

/** Options of a {@link PersistentSessionStore}; every field is optional. */
export interface SessionStoreOptions {
  /** How long a session lives, 0 to 8.64e15 ms. Default 24 h. */
  sessionExpiryMs?: number;
  /** The most sessions kept, a whole number from 1 (Infinity: no limit); creating one more drops the oldest. Default 100. */
  maxSessions?: number;
  /** Where background save failures and moved-aside files are reported. Default: `process.emitWarning`. */
  logger?: StoreLogger;
}

/**
 * Sessions kept in memory and persisted as one encrypted file (default
 * `~/.sage/oauth_sessions.enc`). `createSession`, `getSession` and
 * `deleteSession` return at once and save in the background; saves never
 * overlap and collapse into at most one running and one waiting.
 *
 * Hazard: a background save that fails is only logged; call `flush()` (or
 * `shutdown()`) to learn whether everything reached disk. Any number of
 * instances and processes may share the file: saves merge, lookups read fresh.
 */
export class PersistentSessionStore {
  readonly #sessions = new Map<string, UserSession>();
  readonly #expiryMs: number;
  readonly #maxSessions: number;
  readonly #file: StorePersistence<UserSession>;

  /**
   * Throws InvalidArgumentError (`ERR_INVALID_ARGUMENT`) for a storage path
   * that is not a string, and OptionRangeError (`ERR_OPTION_RANGE`) for an
   * option outside its range: a string expiry would write sessions the
   * loader refuses.
   */
  constructor(encryptionService: EncryptionService, storagePath?: string, options: SessionStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
    this.#expiryMs = numberOption('sessionExpiryMs', options.sessionExpiryMs, 24 * 60 * 60 * 1000, SESSION_EXPIRY_MS);
    this.#maxSessions = numberOption('maxSessions', options.maxSessions, 100, MAX_SESSIONS);
    this.#file = new StorePersistence(
      encryptionService,
      storagePath,
      { name: 'sessions', field: 'sessions', defaultFileName: 'oauth_sessions.enc', isRecord: isUserSession, idOf: (session) => session.sessionId, records: this.#sessions },
      options.logger,
    );
  }

  /**
   * Reads the file under its locks: the sessions in memory become the file's,
   * with this store's unsaved changes on top; expired sessions and all but the
   * newest `maxSessions` are dropped (and dropped from the file with the next save).
   * Not needed for correctness (every save merges, every lookup reads fresh):
   * it surfaces a bad file at start-up and warms the memory.
   */
  async loadFromStorage(): Promise<void> {
    this.#file.assertOpen('loadFromStorage');
    await this.#file.load();
    const nowMs = Date.now();
    const all = [...this.#sessions.values()].sort((a, b) => a.createdAt - b.createdAt);
    const live = all.filter((session) => session.expiresAt > nowMs).slice(-this.#maxSessions);
    const kept = new Set(live);
    this.#sessions.clear();
    for (const session of live) this.#sessions.set(session.sessionId, session);
    for (const session of all) if (!kept.has(session)) this.#file.tidied(session.sessionId);
  }

  /**
   * Creates a session with a random 64-hex-digit id; saves in the background.
   * Throws InvalidArgumentError (`ERR_INVALID_ARGUMENT`) when `userId` is not
   * a string (of at most 65,536 characters), and StoreClosedError
   * (`ERR_STORE_CLOSED`) once the store is closed.
   */
  createSession(userId: string): UserSession {
    requireBoundedString(userId, 'userId');
    this.#file.assertOpen('createSession');
    const createdAt = Date.now();
    const session: UserSession = { sessionId: randomBytes(32).toString('hex'), userId, createdAt, expiresAt: createdAt + this.#expiryMs };
    this.#sessions.set(session.sessionId, session);
    this.#file.changed(session.sessionId);
    // A Map iterates in insertion order, and sessions are inserted oldest first.
    for (const oldest of this.#sessions.keys()) {
      if (this.#sessions.size <= this.#maxSessions) break;
      this.#sessions.delete(oldest);
      this.#file.changed(oldest);
    }
    this.#saveInBackground();
    return { ...session };
  }

  /**
   * The session, or null when unknown or expired; an expired one is removed
   * (saved in the background; once the store is closed it is left for the
   * next load to drop). Any id that is not a string is unknown, as in the
   * original: a request without a session cookie asks with `undefined`.
   */
  getSession(sessionId: string): UserSession | null {
    if (typeof sessionId !== 'string') return null;
    // Fresh read (issue 9): another instance or process may have created or deleted it.
    this.#file.refreshSync();
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return null;
    if (session.expiresAt <= Date.now()) {
      if (this.#file.isClosed) return null;
      this.#sessions.delete(sessionId);
      this.#changed(sessionId);
      return null;
    }
    return { ...session };
  }

  /**
   * Removes the session, if present; saves in the background. An id that is
   * not a string names no session. Throws StoreClosedError
   * (`ERR_STORE_CLOSED`) once the store is closed: a logout acknowledged
   * then would be undone by the restart.
   */
  deleteSession(sessionId: string): void {
    this.#file.assertOpen('deleteSession');
    if (typeof sessionId !== 'string') return;
    // Fresh read first: a logout served by another instance or process must remove a session this one never looked up.
    this.#file.refreshSync();
    if (this.#sessions.delete(sessionId)) this.#changed(sessionId);
  }

  /**
   * Resolves once every change made before the call is on disk, after any
   * save already queued; rejects with the write's error if it cannot be
   * written (a later flush retries).
   */
  flush(): Promise<void> {
    return this.#file.flush();
  }

  /**
   * Refuses every later change with StoreClosedError (`ERR_STORE_CLOSED`),
   * saves everything already accepted and folds the journal into the store
   * file, which then alone holds every session (rejects with the write's
   * error; a second call retries). Reads keep working.
   */
  close(): Promise<void> {
    return this.#file.close();
  }

  /** Whether some accepted change has not reached disk yet. */
  hasUnsavedChanges(): boolean {
    return this.#file.hasUnsavedChanges;
  }

  /** Sessions held, and how many of them have expired but were not yet removed. */
  getMetrics(): { count: number; expiredCount: number } {
    const asOf = Date.now();
    let expired = 0;
    for (const session of this.#sessions.values()) if (session.expiresAt <= asOf) expired += 1;
    return { count: this.#sessions.size, expiredCount: expired };
  }

  #changed(sessionId: string): void {
    this.#file.changed(sessionId);
    this.#saveInBackground();
  }

  #saveInBackground(): void {
    this.#file.saves.saveInBackground((error) =>
      this.#file.reportFailedSave(error, 'background save of the session store failed; the next flush() retries it'),
    );
  }
}
