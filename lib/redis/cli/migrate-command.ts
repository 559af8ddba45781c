/**
 * `migrate-to-redis`: the EncryptionService built as a server builds it, the
 * user's Redis client, then migrateFilesToRedis over the three files.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { EncryptionService } from '../../encryption/encryption-service.js';
import { KEY_ENVIRONMENT_VARIABLE } from '../../encryption/key-source.js';
import { errorCode } from '../../files/fs-seam.js';
import { migrateFilesToRedis, type MigrationOptions, type MigrationReport } from '../migrate.js';
import { RedisBackend } from '../redis-backend.js';
import type { MigrateArgs } from './args.js';
import { EncryptionKeyMissingError, NoStoreFilesError } from './cli-errors.js';
import { loadRedisClient, type ImportModule } from './redis-connection.js';

/** What a finished run reports. */
export interface MigrateOutcome {
  readonly report: MigrationReport;
  readonly paths: StorePaths;
  readonly clientName: 'redis' | 'ioredis';
}

/** Where the three files are. */
export type StorePaths = Required<Omit<MigrationOptions, 'force'>>;

/** The three files in `dir`, under the names the stores give them. */
export function storePaths(dir: string): StorePaths {
  return {
    sessionsPath: path.join(dir, 'oauth_sessions.enc'),
    refreshTokensPath: path.join(dir, 'oauth_refresh_tokens.enc'),
    clientsPath: path.join(dir, 'oauth_clients.enc'),
  };
}

/**
 * Runs the migration and closes the connection. Rejects with the typed error
 * of the step that failed, in this order: RedisClientMissingError,
 * NoStoreFilesError, EncryptionKeyMissingError, KeyFileError, a Redis error
 * on connect, AlreadyMigratedError, DecryptionError or MigrationSourceError,
 * a Redis error while copying.
 */
export async function runMigrate(args: MigrateArgs, importModule?: ImportModule): Promise<MigrateOutcome> {
  // A missing client package is a setup problem: reported before any key or file is read.
  const client = await loadRedisClient(importModule);
  const paths = storePaths(args.dir);
  await requireStoreFiles(args.dir, paths);
  await requireKey(args.keyFile);
  const encryptionService = new EncryptionService({ keyStoragePath: args.keyFile });
  await encryptionService.initialize();
  const connection = await client.connect(args.redisUrl);
  try {
    const backend = new RedisBackend({ sendCommand: connection.sendCommand, encryptionService, keyPrefix: args.keyPrefix });
    const report = await migrateFilesToRedis(backend, { ...paths, force: args.isForced });
    return { report, paths, clientName: client.clientName };
  } finally {
    // Every write counted was acknowledged before this point; a failing QUIT changes nothing in Redis.
    await connection.close().catch(() => undefined);
  }
}

/**
 * A mistyped --dir would otherwise "succeed" with zero counts, and the
 * operator would switch the servers to an empty Redis: at least one of the
 * three files must be there.
 */
async function requireStoreFiles(dir: string, paths: StorePaths): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NoStoreFilesError(dir, 'does not exist or is not a directory');
    throw error;
  }
  const wanted = Object.values(paths).map((file) => path.basename(file));
  if (!wanted.some((name) => entries.includes(name))) throw new NoStoreFilesError(dir, `holds none of ${wanted.join(', ')}`);
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
