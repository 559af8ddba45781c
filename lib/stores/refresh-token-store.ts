import { randomBytes } from 'node:crypto';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { Debouncer } from './debounce.js';
import { isObject, isString, isTime } from './store-file.js';
import type { StoreLogger } from './store-logger.js';
import { StorePersistence } from './store-persistence.js';

/** A refresh token as stored in `oauth_refresh_tokens.enc`. Times are epoch ms. */
export interface RefreshToken {
  token: string;
  client_id: string;
  user_id: string;
  scope: string;
  created_at: number;
  expires_at: number;
  rotated: boolean;
}

/** Configuration of a {@link PersistentRefreshTokenStore}. */
export interface RefreshTokenStoreConfig {
  /** How long a token lives, in seconds. */
  expirySeconds: number;
  /** Quiet period after the last change before saving. Default 1000. */
  saveDebounceMs?: number;
  /** Longest a change waits under a steady stream of changes. Default 5000. */
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

const isRefreshToken = (value: unknown): value is RefreshToken =>
  isObject(value) && isString(value.token) && isString(value.client_id) && isString(value.user_id) && isString(value.scope) &&
  isTime(value.created_at) && isTime(value.expires_at) && typeof value.rotated === 'boolean';

/** Random bytes per refresh token. */
const TOKEN_BYTES = 32;

const INVALID: TokenValidation = Object.freeze({ valid: false, error: 'invalid_grant' });

/**
 * Refresh tokens kept in memory and persisted as one encrypted file (default
 * `~/.sage/oauth_refresh_tokens.enc`). Changes are saved 1 s after the last
 * one, and at least every 5 s under a steady stream; every save goes through
 * `saveToStorage()`. The methods resolve before the change is on disk.
 *
 * Hazard: a debounced save that fails is only logged; call `flush()` (or
 * `shutdown()`) to learn whether everything reached disk. Call
 * `loadFromStorage()` before using the store: it replaces what is in memory.
 */
export class PersistentRefreshTokenStore {
  readonly #tokens = new Map<string, RefreshToken>();
  readonly #expiryMs: number;
  readonly #file: StorePersistence<RefreshToken>;
  readonly #debouncer: Debouncer;

  constructor(config: RefreshTokenStoreConfig, encryptionService: EncryptionService, storagePath?: string) {
    this.#expiryMs = config.expirySeconds * 1000;
    this.#file = new StorePersistence(
      encryptionService,
      storagePath,
      { name: 'refresh-tokens', field: 'tokens', defaultFileName: 'oauth_refresh_tokens.enc', isRecord: isRefreshToken, records: () => this.#tokens.values() },
      config.logger,
    );
    this.#debouncer = new Debouncer(config.saveDebounceMs ?? 1000, config.maxSaveWaitMs ?? 5000, () => this.#saveInBackground());
  }

  /** Replaces the tokens in memory with the file's, dropping expired ones. */
  async loadFromStorage(): Promise<void> {
    const records = await this.#file.load();
    const now = Date.now();
    this.#tokens.clear();
    for (const record of records) if (record.expires_at > now) this.#tokens.set(record.token, { ...record });
  }

  /**
   * Writes the tokens to disk, collapsed with any save running or queued;
   * resolves once every change made before the call is on disk.
   */
  saveToStorage(): Promise<void> {
    return this.#file.saves.save();
  }

  /** Issues a token (32 random bytes, base64url: 43 characters) for the client and user. */
  async generateToken(options: GenerateRefreshTokenOptions): Promise<string> {
    return this.#issue(options.clientId, options.userId, options.scope);
  }

  /** Valid when the token exists, belongs to `clientId`, has not expired and was not rotated; else `invalid_grant`. */
  async validateToken(token: string, clientId: string): Promise<TokenValidation> {
    const record = this.#usable(token, clientId);
    return record === undefined ? { ...INVALID } : { valid: true, tokenData: { ...record } };
  }

  /**
   * Replaces a valid token with a new one for the same client, user and scope;
   * the old one is marked `rotated` and no longer validates. Atomic: the check
   * and the swap run without an await between them, so of two concurrent
   * rotations of one token exactly one gets the new token and the other `null`.
   */
  async rotateToken(token: string, clientId: string): Promise<string | null> {
    const record = this.#usable(token, clientId);
    if (record === undefined) return null;
    record.rotated = true;
    return this.#issue(record.client_id, record.user_id, record.scope);
  }

  /** Removes the token, if present. */
  async revokeToken(token: string): Promise<void> {
    if (this.#tokens.delete(token)) this.#changed();
  }

  /** Removes every token of the client. */
  async revokeAllForClient(clientId: string): Promise<void> {
    this.#removeWhere((record) => record.client_id === clientId);
  }

  /** Removes expired and rotated tokens; resolves with how many went. */
  async cleanup(): Promise<number> {
    const now = Date.now();
    return this.#removeWhere((record) => record.rotated || record.expires_at <= now);
  }

  /**
   * Cancels the pending debounce and saves now, after any save already
   * queued; resolves once every change made before the call is on disk.
   * Rejects with the write's error if it cannot be written.
   */
  flush(): Promise<void> {
    this.#debouncer.cancel();
    return this.saveToStorage();
  }

  /** Tokens held, and how many of them have expired or were rotated. */
  getMetrics(): { count: number; expiredCount: number; rotatedCount: number } {
    const now = Date.now();
    let expiredCount = 0;
    let rotatedCount = 0;
    for (const record of this.#tokens.values()) {
      if (record.expires_at <= now) expiredCount += 1;
      if (record.rotated) rotatedCount += 1;
    }
    return { count: this.#tokens.size, expiredCount, rotatedCount };
  }

  #issue(clientId: string, userId: string, scope: string): string {
    const createdAt = Date.now();
    // The original's format: 32 random bytes, base64url (43 characters).
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    this.#tokens.set(token, { token, client_id: clientId, user_id: userId, scope, created_at: createdAt, expires_at: createdAt + this.#expiryMs, rotated: false });
    this.#changed();
    return token;
  }

  #usable(token: string, clientId: string): RefreshToken | undefined {
    const record = this.#tokens.get(token);
    if (record === undefined || record.client_id !== clientId || record.rotated || record.expires_at <= Date.now()) return undefined;
    return record;
  }

  #removeWhere(predicate: (record: RefreshToken) => boolean): number {
    let removed = 0;
    for (const [token, record] of this.#tokens) {
      if (!predicate(record)) continue;
      this.#tokens.delete(token);
      removed += 1;
    }
    if (removed > 0) this.#changed();
    return removed;
  }

  #changed(): void {
    this.#file.saves.markChanged();
    this.#debouncer.schedule();
  }

  #saveInBackground(): void {
    this.saveToStorage().catch((error: unknown) =>
      this.#file.reportFailedSave(error, 'debounced save of the refresh token store failed; the next flush() retries it'),
    );
  }
}
