/**
 * Copies the three encrypted store files into Redis, once. A record already
 * in Redis is left as it is (SET NX, and the token script's only-if-absent
 * mode), so servers already writing to Redis lose nothing. A successful run
 * leaves `<prefix>meta:migrated` (the time, not secret), and a later run
 * refuses with AlreadyMigratedError: copy-if-absent cannot tell a record revoked in
 * Redis since from one never copied, so a re-run would bring back every
 * token revoked and session deleted since. `force: true` runs anyway and
 * does exactly that. Files are only read.
 */
import { redisTime } from './input-checks.js';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { UnsupportedStoreVersionError } from '../stores/store-errors.js';
import { defaultStorePath, isObject, STORE_VERSION, type RecordField } from '../stores/store-file.js';
import { CLIENT, sealRecord, SESSION, TOKEN, type RecordKind } from './record-codec.js';
import type { RedisBackend } from './redis-backend.js';
import { AlreadyMigratedError, MigrationSourceError } from './redis-errors.js';
import { ISSUE } from './scripts.js';

/** Where the files are; each defaults to its `~/.sage/` path. A missing file counts as empty. */
export interface MigrationOptions {
  sessionsPath?: string;
  refreshTokensPath?: string;
  clientsPath?: string;
  /**
   * Run even though an earlier run already completed into this prefix. It
   * copies nothing already present, but brings back every token revoked and
   * every session or client deleted in Redis since (if still in the files).
   */
  force?: boolean;
}

/** What happened to one file's records. */
export interface MigrationCounts {
  /** Written to Redis by this run. */
  copied: number;
  /** Already in Redis (an earlier run, or a server): left untouched. */
  existing: number;
  /** Past their expiry: not copied. */
  expired: number;
  /** Not of the store's shape: not copied (the file is left as it is). */
  invalid: number;
}

/** Counts per store. */
export interface MigrationReport {
  sessions: MigrationCounts;
  refreshTokens: MigrationCounts;
  clients: MigrationCounts;
}

/** Records written at once; bounds memory and in-flight commands on a large file. */
const BATCH = 64;

type Copy<T> = (record: T) => Promise<boolean>;

/**
 * Copies sessions, refresh tokens (with their rotated flag) and clients from
 * the files into `backend`'s Redis, reading the files with the backend's
 * EncryptionService (the key that wrote them). Resolves with the counts; a
 * file that is not a store file rejects with MigrationSourceError
 * (`ERR_MIGRATION_SOURCE`), a newer version with UnsupportedStoreVersionError,
 * a second run without `force` with AlreadyMigratedError (`ERR_ALREADY_MIGRATED`).
 */
export async function migrateFilesToRedis(backend: RedisBackend, options: MigrationOptions = {}): Promise<MigrationReport> {
  const encryption = backend.encryption;
  const marker = migrationMarkerKey(backend);
  if (options.force !== true) {
    const previous = await backend.call(['GET', marker]);
    if (previous !== null) throw new AlreadyMigratedError(markerTime(previous));
  }
  // All three files are read and checked before anything is written: a bad file copies nothing.
  const [sessionRecords, tokenRecords, clientRecords] = await Promise.all([
    readRecords(encryption, options.sessionsPath ?? defaultStorePath('oauth_sessions.enc'), 'sessions'),
    readRecords(encryption, options.refreshTokensPath ?? defaultStorePath('oauth_refresh_tokens.enc'), 'tokens'),
    readRecords(encryption, options.clientsPath ?? defaultStorePath('oauth_clients.enc'), 'clients'),
  ]);
  const names = await backend.names();
  const nowMs = Date.now();
  const sessions = await copyRecords(sessionRecords, SESSION, (session) => session.expiresAt <= nowMs, async (session) => {
    const sealed = await sealRecord(encryption, session);
    return (await backend.call(['SET', names.session(session.sessionId), sealed, 'PXAT', redisTime(session.expiresAt), 'NX'])) === 'OK';
  });
  const refreshTokens = await copyRecords(tokenRecords, TOKEN, (token) => token.expires_at <= nowMs, async (token) => {
    // The rotated flag lives beside the sealed record (the scripts read it), so the record is sealed unrotated.
    const sealed = await sealRecord(encryption, { ...token, rotated: false });
    const keys = [names.token(token.token), names.clientTokenIndex(token.client_id)];
    const args = [sealed, names.clientDigest(token.client_id), redisTime(token.expires_at), '1', token.rotated ? '1' : '0'];
    return (await ISSUE.run(backend.runner, keys, args)) === 1;
  });
  const clients = await copyRecords(clientRecords, CLIENT, () => false, async (client) => {
    const sealed = await sealRecord(encryption, client);
    return (await backend.call(['SET', names.client(client.client_id), sealed, 'NX'])) === 'OK';
  });
  // Only after every copy was acknowledged: a run that failed half-way may be run again without force.
  await backend.call(['SET', marker, JSON.stringify({ migratedAt: Date.now() })]);
  return { sessions, refreshTokens, clients };
}

/** The key that records a completed migration into `backend`'s prefix. */
export function migrationMarkerKey(backend: RedisBackend): string {
  return `${backend.keyPrefix}meta:migrated`;
}

function markerTime(stored: unknown): number | undefined {
  try {
    const { migratedAt } = JSON.parse(String(stored)) as { migratedAt?: unknown };
    return typeof migratedAt === 'number' && Number.isFinite(migratedAt) ? migratedAt : undefined;
  } catch {
    return undefined;
  }
}

async function copyRecords<T>(records: unknown[], kind: RecordKind<T>, isExpired: (record: T) => boolean, copy: Copy<T>): Promise<MigrationCounts> {
  const counts: MigrationCounts = { copied: 0, existing: 0, expired: 0, invalid: 0 };
  const live: T[] = [];
  for (const record of records) {
    if (!kind.isRecord(record)) counts.invalid += 1;
    else if (isExpired(record)) counts.expired += 1;
    else live.push(record);
  }
  for (let start = 0; start < live.length; start += BATCH) {
    const outcomes = await Promise.all(live.slice(start, start + BATCH).map(copy));
    for (const isCopied of outcomes) counts[isCopied ? 'copied' : 'existing'] += 1;
  }
  return counts;
}

async function readRecords(encryption: EncryptionService, filePath: string, field: RecordField): Promise<unknown[]> {
  const plaintext = await encryption.decryptFromFile(filePath);
  if (plaintext === null) return [];
  let document: unknown;
  try {
    document = JSON.parse(plaintext);
  } catch {
    throw new MigrationSourceError(filePath, 'not JSON');
  }
  if (!isObject(document)) throw new MigrationSourceError(filePath, 'not a JSON object');
  const { version } = document;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw new MigrationSourceError(filePath, 'no valid version');
  if (version > STORE_VERSION) throw new UnsupportedStoreVersionError(filePath, version, STORE_VERSION);
  const records = document[field];
  if (!Array.isArray(records)) throw new MigrationSourceError(filePath, `no "${field}" array`);
  return records;
}
