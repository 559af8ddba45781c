/**
 * `migrate-to-redis`: the EncryptionService built as a server builds it, the
 * user's Redis client, then migrateFilesToRedis over the three files.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { EncryptionService } from '../../encryption/encryption-service.js';
import { KEY_ENVIRONMENT_VARIABLE } from '../../encryption/key-source.js';
import { errorCode } from '../../files/fs-seam.js';
import { migrateFilesToRedis, type MigrationOptions, type MigrationReport } from '../migrate.js';
import { RedisBackend } from '../redis-backend.js';
import type { MigrateArgs } from './args.js';
import { EncryptionKeyMissingError } from './cli-errors.js';
import { loadRedisClient, type ImportModule } from './redis-connection.js';

/** What a finished run reports. */
export interface MigrateOutcome {
  readonly report: MigrationReport;
  readonly paths: Required<MigrationOptions>;
  readonly clientName: 'redis' | 'ioredis';
}

/** The three files in `dir`, under the names the stores give them. */
export function storePaths(dir: string): Required<MigrationOptions> {
  return {
    sessionsPath: path.join(dir, 'oauth_sessions.enc'),
    refreshTokensPath: path.join(dir, 'oauth_refresh_tokens.enc'),
    clientsPath: path.join(dir, 'oauth_clients.enc'),
  };
}

/**
 * Runs the migration and closes the connection. Rejects with the typed error
 * of the step that failed, in this order: RedisClientMissingError,
 * EncryptionKeyMissingError, KeyFileError, a Redis error on connect,
 * DecryptionError or MigrationSourceError, a Redis error while copying.
 */
export async function runMigrate(args: MigrateArgs, importModule?: ImportModule): Promise<MigrateOutcome> {
  // A missing client package is a setup problem: reported before any key or file is read.
  const client = await loadRedisClient(importModule);
  await requireKey(args.keyFile);
  const encryptionService = new EncryptionService({ keyStoragePath: args.keyFile });
  await encryptionService.initialize();
  const connection = await client.connect(args.redisUrl);
  try {
    const backend = new RedisBackend({ sendCommand: connection.sendCommand, encryptionService, keyPrefix: args.keyPrefix });
    const paths = storePaths(args.dir);
    const report = await migrateFilesToRedis(backend, paths);
    return { report, paths, clientName: client.clientName };
  } finally {
    // Every write counted was acknowledged before this point; a failing QUIT changes nothing in Redis.
    await connection.close().catch(() => undefined);
  }
}

/** The service would generate a key when neither source exists; a migration must read with the existing one. */
async function requireKey(keyFile: string): Promise<void> {
  const fromEnvironment = process.env[KEY_ENVIRONMENT_VARIABLE];
  if (fromEnvironment !== undefined && fromEnvironment !== '') return;
  try {
    await stat(keyFile);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw new EncryptionKeyMissingError(keyFile);
    throw error;
  }
}
