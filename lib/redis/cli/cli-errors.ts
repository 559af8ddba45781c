/**
 * Typed errors of the `session-store-mutex` command. Like every error of the
 * library, none quotes a secret: not the key, not the Redis URL (it may hold
 * a password), not a flag's value.
 */

/** A bad command line: unknown flag, missing value, bad URL. Exit code 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
  readonly code = 'ERR_USAGE' as const;
}

/** Neither `redis` (node-redis) nor `ioredis` can be imported next to the package. Exit code 2. */
export class RedisClientMissingError extends Error {
  override readonly name = 'RedisClientMissingError';
  readonly code = 'ERR_REDIS_CLIENT_MISSING' as const;

  constructor() {
    super('install redis or ioredis next to session-store-mutex');
  }
}

/** `--dir` does not exist, or holds none of the three store files: nothing to migrate is a mistake, not a success. Exit code 1. */
export class NoStoreFilesError extends Error {
  override readonly name = 'NoStoreFilesError';
  readonly code = 'ERR_NO_STORE_FILES' as const;
  /** The directory that was looked in. */
  readonly dir: string;

  constructor(dir: string, problem: string) {
    super(`${JSON.stringify(dir)} ${problem}`);
    this.dir = dir;
  }
}

/**
 * No encryption key to read the files with: `SAGE_ENCRYPTION_KEY` is unset
 * and the key file does not exist. The migration never generates a key (a
 * new key cannot read the files, and a server would then pick it up).
 */
export class EncryptionKeyMissingError extends Error {
  override readonly name = 'EncryptionKeyMissingError';
  readonly code = 'ERR_KEY_MISSING' as const;
  /** The key file that was looked for. */
  readonly keyFilePath: string;

  constructor(keyFilePath: string) {
    super(`no encryption key: SAGE_ENCRYPTION_KEY is unset and ${JSON.stringify(keyFilePath)} does not exist`);
    this.keyFilePath = keyFilePath;
  }
}
