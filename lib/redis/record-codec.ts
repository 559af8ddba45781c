/**
 * Values in Redis: each record is JSON encrypted by the EncryptionService
 * (AES-256-GCM, the files' format and key). A decrypted record must have its
 * store's shape and carry the very id it was looked up by, so a value copied
 * onto another key (by anyone with write access to Redis) is refused rather
 * than answered for the wrong session, token or client.
 */
import type { EncryptionService } from '../encryption/encryption-service.js';
import type { OAuthClient } from '../stores/client-store.js';
import type { RefreshToken } from '../stores/refresh-token-store.js';
import type { UserSession } from '../stores/session-store.js';
// The file stores' own record rules: a record is the same thing in either backend (and a file
// record the file store would drop is not migrated).
import { isOAuthClient, isRefreshToken, isUserSession } from '../stores/record-rules.js';
import { RedisRecordError } from './redis-errors.js';

/** How one kind of record is checked and which field holds its id. */
export interface RecordKind<T> {
  readonly kind: 'session' | 'token' | 'client';
  readonly isRecord: (value: unknown) => value is T;
  readonly idOf: (record: T) => string;
}

export const SESSION: RecordKind<UserSession> = { kind: 'session', isRecord: isUserSession, idOf: (record) => record.sessionId };
export const TOKEN: RecordKind<RefreshToken> = { kind: 'token', isRecord: isRefreshToken, idOf: (record) => record.token };
export const CLIENT: RecordKind<OAuthClient> = { kind: 'client', isRecord: isOAuthClient, idOf: (record) => record.client_id };

/** Encrypts a record for Redis. */
export function sealRecord<T>(encryption: EncryptionService, record: T): Promise<string> {
  return encryption.encrypt(JSON.stringify(record));
}

/** Decrypts a value read for `id`; rejects with DecryptionError or RedisRecordError, never answers for another id. */
export async function openRecord<T>(encryption: EncryptionService, kind: RecordKind<T>, id: string, sealed: unknown): Promise<T> {
  if (typeof sealed !== 'string') throw new RedisRecordError(kind.kind, 'the value is not a string');
  let record: unknown;
  try {
    record = JSON.parse(await encryption.decrypt(sealed));
  } catch (error) {
    if (error instanceof SyntaxError) throw new RedisRecordError(kind.kind, 'not JSON');
    throw error;
  }
  if (!kind.isRecord(record)) throw new RedisRecordError(kind.kind, 'wrong shape');
  if (kind.idOf(record) !== id) throw new RedisRecordError(kind.kind, 'belongs to another id (moved between keys)');
  return record;
}
