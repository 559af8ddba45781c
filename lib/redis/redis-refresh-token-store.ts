import type { RefreshTokenStore, TokenGrant } from '../stores/contract.js';
import { newRefreshToken, type RefreshToken, type TokenValidation } from '../stores/refresh-token-store.js';
import { requireBoundedString } from '../stores/record-rules.js';
import { InvalidArgumentError } from '../stores/store-errors.js';
import { describeRange, MAX_DATE_MS, numberOption, OptionRangeError } from '../support/options.js';
import { isLookupId, redisTime } from './input-checks.js';
import { openRecord, sealRecord, TOKEN } from './record-codec.js';
import type { RedisBackend } from './redis-backend.js';
import { RedisRecordError } from './redis-errors.js';
import { ISSUE, PRUNE_INDEX, REVOKE, REVOKE_ALL, ROTATE } from './scripts.js';

/** The file store's range, in seconds; a fraction is accepted (expiry times are rounded up to whole ms where they go to Redis). */
const EXPIRY_SECONDS = Object.freeze({ min: 0, max: MAX_DATE_MS / 1000, unit: 's' });

/** Configuration of a {@link RedisRefreshTokenStore}. */
export interface RedisRefreshTokenStoreConfig {
  /** How long a token lives, in seconds. */
  expirySeconds: number;
}

const INVALID: TokenValidation = Object.freeze({ valid: false, error: 'invalid_grant' });

/** Keys visited per SCAN step in cleanup(). */
const SCAN_COUNT = '500';

/**
 * Refresh tokens in Redis. A token is a hash under a hashed key that Redis
 * expires at `expires_at`; each client has an index set for
 * `revokeAllForClient`. Issue, rotation and revocation are Lua scripts, so
 * they are atomic on the server: of any number of concurrent rotations of one
 * token, from any number of processes or hosts, exactly one succeeds. Every
 * method resolves only after Redis replied.
 */
export class RedisRefreshTokenStore implements RefreshTokenStore {
  readonly #backend: RedisBackend;
  readonly #expiryMs: number;

  /**
   * Throws as PersistentRefreshTokenStore does: InvalidArgumentError
   * (`ERR_INVALID_ARGUMENT`) for a config that is not an object,
   * OptionRangeError (`ERR_OPTION_RANGE`) for a missing or out-of-range `expirySeconds`.
   */
  constructor(backend: RedisBackend, config: RedisRefreshTokenStoreConfig) {
    if (typeof config !== 'object' || config === null) throw new InvalidArgumentError('config', 'an object', config);
    if (config.expirySeconds === undefined || config.expirySeconds === null) {
      throw new OptionRangeError('expirySeconds', describeRange(EXPIRY_SECONDS), config.expirySeconds);
    }
    this.#backend = backend;
    this.#expiryMs = numberOption('expirySeconds', config.expirySeconds, 0, EXPIRY_SECONDS) * 1000;
  }

  /**
   * Issues a token (32 random bytes, base64url); resolves once Redis stored it.
   * Rejects with InvalidArgumentError (`ERR_INVALID_ARGUMENT`, naming the field)
   * when `clientId`, `userId` or `scope` is not a string of at most 65,536
   * characters (empty is fine), as the file store.
   */
  async generateToken(options: TokenGrant): Promise<string> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
    const clientId = requireBoundedString(options.clientId, 'options.clientId');
    const userId = requireBoundedString(options.userId, 'options.userId');
    const scope = requireBoundedString(options.scope, 'options.scope');
    const record = this.#newRecord(clientId, userId, scope);
    const names = await this.#backend.names();
    const sealed = await sealRecord(this.#backend.encryption, record);
    const args = [sealed, names.clientDigest(clientId), redisTime(record.expires_at), '0', '0'];
    await ISSUE.run(this.#backend.runner, [names.token(record.token), names.clientTokenIndex(clientId)], args);
    return record.token;
  }

  /** Valid when the token exists, belongs to `clientId`, has not expired and was not rotated; else `invalid_grant`. */
  async validateToken(token: string, clientId: string): Promise<TokenValidation> {
    const record = await this.#usable(token, clientId);
    return record === undefined ? { ...INVALID } : { valid: true, tokenData: record };
  }

  /**
   * Replaces a valid token with a new one for the same client, user and scope.
   * The record is read first (its user and scope are encrypted), then one
   * script checks and swaps atomically; a token rotated, revoked or expired in
   * between makes it resolve null.
   */
  async rotateToken(token: string, clientId: string): Promise<string | null> {
    const current = await this.#usable(token, clientId);
    if (current === undefined) return null;
    const next = this.#newRecord(current.client_id, current.user_id, current.scope);
    const names = await this.#backend.names();
    const sealed = await sealRecord(this.#backend.encryption, next);
    const keys = [names.token(token), names.token(next.token), names.clientTokenIndex(clientId)];
    const reply = await ROTATE.run(this.#backend.runner, keys, [names.clientDigest(clientId), sealed, redisTime(next.expires_at)]);
    return reply === 1 ? next.token : null;
  }

  /** Removes the token, if present; resolves once Redis did. */
  async revokeToken(token: string): Promise<void> {
    if (!isLookupId(token)) return;
    const names = await this.#backend.names();
    await REVOKE.run(this.#backend.runner, [names.token(token)], [names.tokenIndexPrefix]);
  }

  /** Removes every token of the client in one script; resolves once Redis did. */
  async revokeAllForClient(clientId: string): Promise<void> {
    if (!isLookupId(clientId)) return;
    const names = await this.#backend.names();
    await REVOKE_ALL.run(this.#backend.runner, [names.clientTokenIndex(clientId)], []);
  }

  /**
   * Removes rotated tokens and forgets expired ones in the client indexes;
   * resolves with how many rotated tokens went. Expired tokens are already
   * gone (Redis removed them at `expires_at`), so they are not counted. Each
   * client's index is pruned by one atomic script.
   */
  async cleanup(): Promise<number> {
    const names = await this.#backend.names();
    const pattern = `${escapeGlob(names.tokenIndexPrefix)}*`;
    let cursor = '0';
    let removed = 0;
    do {
      const reply = await this.#backend.call(['SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT]);
      const [next, keys] = parseScan(reply);
      // SCAN MATCH is a glob: keys of another application or of a nested prefix can match it; those are skipped, never touched.
      for (const key of keys.filter((candidate) => names.isTokenIndex(candidate))) {
        removed += Number(await PRUNE_INDEX.run(this.#backend.runner, [key], [names.tokenKeyPrefix]));
      }
      cursor = next;
    } while (cursor !== '0');
    return removed;
  }

  /** Resolves at once: every change already resolved only once Redis acknowledged it. */
  async flush(): Promise<void> {}

  #newRecord(clientId: string, userId: string, scope: string): RefreshToken {
    const createdAt = Date.now();
    const token = newRefreshToken();
    return { token, client_id: clientId, user_id: userId, scope, created_at: createdAt, expires_at: createdAt + this.#expiryMs, rotated: false };
  }

  /** The record when the token is live, unrotated and the client's; one round trip. */
  async #usable(token: string, clientId: string): Promise<RefreshToken | undefined> {
    if (!isLookupId(token) || !isLookupId(clientId)) return undefined;
    const names = await this.#backend.names();
    const reply = await this.#backend.call(['HMGET', names.token(token), 'v', 'c', 'r']);
    if (!Array.isArray(reply)) throw new RedisRecordError('token', 'HMGET did not answer an array');
    const [sealed, digest, rotated] = reply as unknown[];
    if (sealed === null || sealed === undefined || rotated === '1' || digest !== names.clientDigest(clientId)) return undefined;
    const record = await openRecord(this.#backend.encryption, TOKEN, token, sealed);
    if (record.client_id !== clientId || record.expires_at <= Date.now()) return undefined;
    return record;
  }
}

/** Escapes the glob characters of a prefix for SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}

function parseScan(reply: unknown): [string, string[]] {
  if (Array.isArray(reply) && reply.length === 2) {
    const [cursor, keys] = reply as unknown[];
    if (typeof cursor === 'string' && Array.isArray(keys) && keys.every((key) => typeof key === 'string')) return [cursor, keys];
  }
  throw new RedisRecordError('token', 'SCAN answered an unexpected shape');
}
