import { randomBytes } from 'node:crypto';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { Debouncer } from './debounce.js';
import { DURATION_MS, MAX_DATE_MS, numberOption, OptionRangeError, describeRange } from '../support/options.js';
import { isRefreshToken, requireBoundedString, type RefreshToken } from './record-rules.js';
import { InvalidArgumentError } from './store-errors.js';
import type { StoreLogger } from './store-logger.js';
import { StorePersistence } from './store-persistence.js';

export type { RefreshToken } from './record-rules.js';

/** A token lives 0 s up to the largest Date; a string or NaN would write tokens the loader refuses. */
const EXPIRY_SECONDS = Object.freeze({ min: 0, max: MAX_DATE_MS / 1000, unit: 's' });

/** Configuration of a {@link PersistentRefreshTokenStore}. */
export interface RefreshTokenStoreConfig {
  /** How long a token lives, in seconds (0 to 8.64e12). Required. */
  expirySeconds: number;
  /** Quiet period after the last change before saving, ms from 0 (Infinity: only `flush()` saves). Default 1000. */
  saveDebounceMs?: number;
  /** Longest a change waits under a steady stream of changes, ms from 0 (Infinity: no cap); never below `saveDebounceMs`. Default 5000. */
  maxSaveWaitMs?: number;
  /** Where debounced save failures and moved-aside files are reported. Default: `process.emitWarning`. */
  logger?: StoreLogger;
}

/** The result of {@link PersistentRefreshTokenStore.validateToken}. */
export interface TokenValidation {
  valid: boolean;
  tokenData?: RefreshToken;
  error?: string;
}

/** The original's name for {@link TokenValidation}. */
export type RefreshTokenValidationResult = TokenValidation;

/** What {@link PersistentRefreshTokenStore.generateToken} needs. */
export interface GenerateRefreshTokenOptions {
  clientId: string;
  userId: string;
  scope: string;
}

/** Random bytes per refresh token. */
const TOKEN_BYTES = 32;

/** A new refresh token in the original's format: 32 random bytes, base64url (43 characters). */
export const newRefreshToken = (): string => randomBytes(TOKEN_BYTES).toString('base64url');

const INVALID: TokenValidation = Object.freeze({ valid: false, error: 'invalid_grant' });

/**
 * Refresh tokens kept in memory and persisted as one encrypted file (default
 * `~/.sage/oauth_refresh_tokens.enc`). Changes are saved 1 s after the last
 * one, and at least every 5 s under a steady stream; every debounced save goes
 * through `saveToStorage()`. `generateToken` and `cleanup` resolve before the
 * change is on disk; `rotateToken`, `revokeToken` and `revokeAllForClient`
 * only once it is.
 *
 * Hazard: a debounced save that fails is only logged; call `flush()` (or
 * `shutdown()`) to learn whether everything reached disk. Any number of
 * instances and processes may share the file: saves merge, lookups read
 * fresh, rotation and revocation are durable transactions.
 */
export class PersistentRefreshTokenStore {
  readonly #tokens = new Map<string, RefreshToken>();
  readonly #expiryMs: number;
  readonly #file: StorePersistence<RefreshToken>;
  readonly #debouncer: Debouncer;

  /**
   * Throws InvalidArgumentError (`ERR_INVALID_ARGUMENT`) for a config that is
   * not an object or a storage path that is not a string, and
   * OptionRangeError (`ERR_OPTION_RANGE`) for a missing or out-of-range
   * `expirySeconds` or debounce option.
   */
  constructor(config: RefreshTokenStoreConfig, encryptionService: EncryptionService, storagePath?: string) {
    if (typeof config !== 'object' || config === null) throw new InvalidArgumentError('config', 'an object', config);
    if (config.expirySeconds === undefined || config.expirySeconds === null) {
      throw new OptionRangeError('expirySeconds', describeRange(EXPIRY_SECONDS), config.expirySeconds);
    }
    this.#expiryMs = numberOption('expirySeconds', config.expirySeconds, 0, EXPIRY_SECONDS) * 1000;
    const saveDebounceMs = numberOption('saveDebounceMs', config.saveDebounceMs, 1000, DURATION_MS);
    const maxSaveWaitMs = numberOption('maxSaveWaitMs', config.maxSaveWaitMs, 5000, DURATION_MS);
    this.#file = new StorePersistence(
      encryptionService,
      storagePath,
      { name: 'refresh-tokens', field: 'tokens', defaultFileName: 'oauth_refresh_tokens.enc', isRecord: isRefreshToken, idOf: (record) => record.token, records: this.#tokens },
      config.logger,
    );
    this.#debouncer = new Debouncer(saveDebounceMs, maxSaveWaitMs, () => this.#saveInBackground());
  }

  /**
   * Reads the file under its locks: the tokens in memory become the file's,
   * with this store's unsaved changes on top; expired tokens are dropped (and
   * dropped from the file with the next save). Not needed for correctness
   * (every save merges, every lookup reads fresh): it surfaces a bad file at
   * start-up and warms the memory.
   */
  async loadFromStorage(): Promise<void> {
    this.#file.assertOpen('loadFromStorage');
    await this.#file.load();
    const nowMs = Date.now();
    for (const [token, record] of this.#tokens) {
      if (record.expires_at > nowMs) continue;
      this.#tokens.delete(token);
      this.#file.tidied(token);
    }
  }

  /**
   * Writes the tokens to disk, collapsed with any save running or queued;
   * resolves once every change made before the call is on disk.
   */
  saveToStorage(): Promise<void> {
    return this.#file.saves.save();
  }

  /**
   * Refuses every later change with StoreClosedError (`ERR_STORE_CLOSED`),
   * cancels the debounce, saves everything already accepted and folds the
   * journal into the store file, which then alone holds every token (rejects
   * with the write's error; a second call retries). `validateToken` keeps working.
   */
  close(): Promise<void> {
    this.#debouncer.cancel();
    return this.#file.close();
  }

  /** Whether some accepted change has not reached disk yet. */
  hasUnsavedChanges(): boolean {
    return this.#file.hasUnsavedChanges;
  }

  /**
   * Issues a token (32 random bytes, base64url: 43 characters) for the client
   * and user. Rejects with InvalidArgumentError (`ERR_INVALID_ARGUMENT`, naming
   * the field) when `clientId`, `userId` or `scope` is not a string (of at most
   * 65,536 characters; `scope: ''` is fine), and with StoreClosedError
   * (`ERR_STORE_CLOSED`) once the store is closed.
   */
  async generateToken(options: GenerateRefreshTokenOptions): Promise<string> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
    const clientId = requireBoundedString(options.clientId, 'options.clientId');
    const userId = requireBoundedString(options.userId, 'options.userId');
    const scope = requireBoundedString(options.scope, 'options.scope');
    this.#file.assertOpen('generateToken');
    const token = this.#issue(clientId, userId, scope);
    this.#debouncer.schedule();
    return token;
  }

  /**
   * Valid when the token exists, belongs to `clientId`, has not expired and
   * was not rotated; else `invalid_grant`. Reads fresh: a token rotated or
   * revoked by another instance or process is invalid here. An expired token
   * is removed (saved with the next debounced save), as the original does.
   */
  async validateToken(token: string, clientId: string): Promise<TokenValidation> {
    if (typeof token !== 'string') return { ...INVALID };
    await this.#file.refresh();
    if (!this.#file.isClosed && this.#dropIfExpired(token)) {
      this.#debouncer.schedule();
      return { ...INVALID };
    }
    const usable = this.#usable(token, clientId);
    return usable === undefined ? { ...INVALID } : { valid: true, tokenData: { ...usable } };
  }

  /**
   * Replaces a valid token with a new one for the same client, user and scope;
   * the old one is marked `rotated` and no longer validates. A transaction
   * under the file's in-process and cross-process locks: of any number of
   * concurrent rotations of one token, in any number of store instances or
   * processes, exactly one gets the new token and the others `null`; it
   * resolves once both tokens are on disk.
   */
  async rotateToken(token: string, clientId: string): Promise<string | null> {
    this.#file.assertOpen('rotateToken');
    return this.#file.transaction(() => {
      // As validateToken (and the original's rotation through it): an expired token goes.
      if (typeof token === 'string' && this.#dropIfExpired(token)) return null;
      const record = this.#usable(token, clientId);
      if (record === undefined) return null;
      // A new object, never a mutation: a checkpoint may be serialising the old one.
      this.#tokens.set(token, { ...record, rotated: true });
      this.#file.changed(token);
      return this.#issue(record.client_id, record.user_id, record.scope);
    });
  }

  /**
   * Removes the token, if present (a token that is not a string names none);
   * resolves once the removal is on disk (a transaction, like rotateToken).
   */
  async revokeToken(token: string): Promise<void> {
    this.#file.assertOpen('revokeToken');
    if (typeof token !== 'string') return;
    await this.#file.transaction(() => {
      if (this.#tokens.delete(token)) this.#file.changed(token);
    });
  }

  /** Removes every token of the client, as seen in the file; resolves once that is on disk. */
  async revokeAllForClient(clientId: string): Promise<void> {
    this.#file.assertOpen('revokeAllForClient');
    await this.#file.transaction(() => this.#removeWhere((record) => record.client_id === clientId));
  }

  /** Removes expired and rotated tokens; resolves with how many went (saved with the next debounced save). */
  async cleanup(): Promise<number> {
    this.#file.assertOpen('cleanup');
    await this.#file.refresh();
    const nowMs = Date.now();
    const removed = this.#removeWhere((record) => record.rotated || record.expires_at <= nowMs);
    if (removed > 0) this.#debouncer.schedule();
    return removed;
  }

  /**
   * Cancels the pending debounce and saves now, after any save already
   * queued; resolves once every change made before the call is on disk.
   * Rejects with the write's error if it cannot be written.
   */
  async flush(): Promise<void> {
    this.#debouncer.cancel();
    await this.saveToStorage(); // the public method: a subclass's override is honoured
    await this.#file.ensureFile();
  }

  /** Tokens held, and how many of them have expired or were rotated. */
  getMetrics(): { count: number; expiredCount: number; rotatedCount: number } {
    const asOf = Date.now();
    let expired = 0;
    let rotated = 0;
    for (const record of this.#tokens.values()) {
      if (record.expires_at <= asOf) expired += 1;
      if (record.rotated) rotated += 1;
    }
    return { count: this.#tokens.size, expiredCount: expired, rotatedCount: rotated };
  }

  #issue(clientId: string, userId: string, scope: string): string {
    const createdAt = Date.now();
    const token = newRefreshToken();
    this.#tokens.set(token, { token, client_id: clientId, user_id: userId, scope, created_at: createdAt, expires_at: createdAt + this.#expiryMs, rotated: false });
    this.#file.changed(token);
    return token;
  }

  /** Removes the token when it has expired unrotated, as the original's lookups did; whether it did. */
  #dropIfExpired(token: string): boolean {
    const record = this.#tokens.get(token);
    if (record === undefined || record.rotated || record.expires_at > Date.now()) return false;
    this.#tokens.delete(token);
    this.#file.changed(token);
    return true;
  }

  /** A token or client id that is not a string matches nothing, as in the original (a request may omit either). */
  #usable(token: string, clientId: string): RefreshToken | undefined {
    if (typeof token !== 'string' || typeof clientId !== 'string') return undefined;
    const record = this.#tokens.get(token);
    if (record === undefined || record.client_id !== clientId || record.rotated || record.expires_at <= Date.now()) return undefined;
    return record;
  }

  #removeWhere(predicate: (record: RefreshToken) => boolean): number {
    let removed = 0;
    for (const [token, record] of this.#tokens) {
      if (!predicate(record)) continue;
      this.#tokens.delete(token);
      this.#file.changed(token);
      removed += 1;
    }
    return removed;
  }

  #saveInBackground(): void {
    this.saveToStorage().catch((error: unknown) =>
      this.#file.reportFailedSave(error, 'debounced save of the refresh token store failed; the next flush() retries it'),
    );
  }
}
