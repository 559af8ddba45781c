/**
 * Typed errors of the Redis stores. Callers branch on `code`. No message
 * carries a token, a session id, a key name or a value: a failure names the
 * command (its first word) and the Redis error prefix, nothing else (NFR-4).
 */

/**
 * Redis could not be reached or refused to serve: the connection failed or
 * closed, the client is offline, or the server answered LOADING, BUSY,
 * READONLY, MASTERDOWN or MISCONF. An operation that rejects with it was not
 * acknowledged; a write may or may not have been applied.
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  readonly code = 'ERR_REDIS_UNAVAILABLE' as const;
  /** The command's name, e.g. `EVALSHA`. */
  readonly command: string;

  constructor(command: string, detail: string, cause: unknown) {
    super(`redis ${command} failed: ${detail}`, { cause });
    this.command = command;
  }
}

/**
 * No reply within `commandTimeoutMs`. The command may still run on the
 * server: a write that timed out is unacknowledged, not undone.
 */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
  readonly code = 'ERR_REDIS_TIMEOUT' as const;
  /** The command's name. */
  readonly command: string;
  /** The limit that passed. */
  readonly timeoutMs: number;

  constructor(command: string, timeoutMs: number) {
    super(`redis ${command} got no reply within ${timeoutMs} ms`);
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

/** Redis answered with an error reply that is not about availability (e.g. `WRONGTYPE`, `NOPERM`, `OOM`). */
export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError';
  readonly code = 'ERR_REDIS_REPLY' as const;
  /** The command's name. */
  readonly command: string;
  /** The reply's prefix, e.g. `WRONGTYPE`. */
  readonly redisCode: string;

  constructor(command: string, redisCode: string, cause: unknown) {
    super(`redis ${command} answered ${redisCode}`, { cause });
    this.command = command;
    this.redisCode = redisCode;
  }
}

/**
 * A value in Redis is not what this library wrote for that key: it decrypts
 * but has the wrong shape or belongs to another id (moved between keys), or
 * the reply has an unexpected type. Nothing is deleted; the operation rejects.
 */
export class RedisRecordError extends Error {
  override readonly name = 'RedisRecordError';
  readonly code = 'ERR_REDIS_RECORD' as const;
  /** Which kind of record: `session`, `token` or `client`. */
  readonly kind: string;

  constructor(kind: string, problem: string) {
    super(`redis ${kind} record rejected: ${problem}`);
    this.kind = kind;
  }
}

/**
 * The key prefix is empty. Refused at construction: `cleanup()` scans
 * `<prefix>ti:*`, which with no prefix matches other applications' keys.
 * (Bad argument types are InvalidArgumentError, as in the file stores.)
 */
export class RedisKeyPrefixError extends TypeError {
  override readonly name = 'RedisKeyPrefixError';
  readonly code = 'ERR_REDIS_KEY_PREFIX' as const;

  constructor() {
    super('keyPrefix must be a non-empty string (e.g. "myapp:"), and prefixes sharing one Redis must not nest');
  }
}

/**
 * `migrateFilesToRedis` already ran into this prefix (`<prefix>meta:migrated`
 * is set). A second run would bring back every token revoked and session
 * deleted in Redis since, so it is refused unless `force: true`.
 */
export class AlreadyMigratedError extends Error {
  override readonly name = 'AlreadyMigratedError';
  readonly code = 'ERR_ALREADY_MIGRATED' as const;
  /** When the earlier run finished (epoch ms), or undefined if the marker is unreadable. */
  readonly migratedAt: number | undefined;

  constructor(migratedAt: number | undefined) {
    const when = migratedAt === undefined ? '' : ` at ${new Date(migratedAt).toISOString()}`;
    super(`files were already migrated into this prefix${when}; a forced re-run brings back what was revoked or deleted in Redis since`);
    this.migratedAt = migratedAt;
  }
}

/** A store file given to the migration is not a store file (its content is never quoted). */
export class MigrationSourceError extends Error {
  override readonly name = 'MigrationSourceError';
  readonly code = 'ERR_MIGRATION_SOURCE' as const;
  /** The file that was read. */
  readonly filePath: string;

  constructor(filePath: string, problem: string) {
    super(`cannot migrate ${JSON.stringify(filePath)}: ${problem}`);
    this.filePath = filePath;
  }
}
