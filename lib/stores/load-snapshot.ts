import { fsPromises } from '../files/node-fs.js';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { NotInitializedError } from '../encryption/errors.js';
import { moveAside } from './move-aside.js';
import { describeError, safeLog, type StoreLogger } from './store-logger.js';
import { STORE_VERSION, isObject, type RecordField } from './store-file.js';
import { UnsupportedStoreVersionError } from './store-errors.js';
import { errorCode } from '../files/fs-seam.js';

/** What a store needs to read its file. */
export interface SnapshotSpec<T> {
  readonly filePath: string;
  /** The array field holding the records, e.g. `sessions`. */
  readonly field: RecordField;
  /** Accepts a record of the right shape; one bad record makes the whole file unreadable. */
  readonly isRecord: (value: unknown) => value is T;
}

/**
 * Reads a store file's records under the file's lock (FR-3.3). A missing file
 * is an empty store. A file that cannot be decrypted or does not hold
 * `{ version: 1, <field>: [records] }` is moved aside to
 * `<file>.corrupt-<timestamp>`, a warning is logged and the store starts
 * empty. A newer `version` rejects with UnsupportedStoreVersionError and
 * leaves the file alone; file-system errors reject with their own code, and
 * an uninitialised service with NotInitializedError (`ERR_NOT_INITIALIZED`).
 */
export async function loadSnapshot<T>(service: EncryptionService, spec: SnapshotSpec<T>, logger: StoreLogger): Promise<T[]> {
  // Checked up front so a missing file does not hide the misconfiguration.
  if (!service.isInitialized()) throw new NotInitializedError('loadFromStorage');
  // One critical section for reading and moving aside: were they two, a save
  // queued in between would overwrite the unreadable file before it was kept.
  // decryptFromFile cannot be called here (it takes the same lock), so this
  // reads the payload itself and decrypts it with the service's decrypt.
  return service.withFileLock(spec.filePath, async () => {
    let payload: string;
    try {
      payload = await fsPromises().readFile(spec.filePath, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    let plaintext: string;
    try {
      plaintext = await service.decrypt(payload);
    } catch (error) {
      if (errorCode(error) !== 'ERR_DECRYPT') throw error;
      return quarantine(spec.filePath, describeError(error), logger);
    }
    const parsed = parseSnapshot(plaintext, spec);
    if (typeof parsed === 'string') return quarantine(spec.filePath, { problem: parsed }, logger);
    return parsed;
  });
}

async function quarantine<T>(filePath: string, fields: Record<string, unknown>, logger: StoreLogger): Promise<T[]> {
  const movedTo = await moveAside(filePath);
  safeLog(logger, 'warn', { ...fields, filePath, movedTo }, 'store file could not be read; moved aside, the store starts empty');
  return [];
}

/** The records, or why the plaintext is not a store file; throws only for a newer version. */
function parseSnapshot<T>(plaintext: string, spec: SnapshotSpec<T>): T[] | string {
  let document: unknown;
  try {
    document = JSON.parse(plaintext);
  } catch {
    return 'not JSON';
  }
  if (!isObject(document)) return 'not a JSON object';
  const { version } = document;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) return 'no valid version';
  if (version > STORE_VERSION) throw new UnsupportedStoreVersionError(spec.filePath, version, STORE_VERSION);
  const records = document[spec.field];
  if (!Array.isArray(records)) return `no "${spec.field}" array`;
  if (records.every(spec.isRecord)) return records;
  return `"${spec.field}" entry ${records.findIndex((record) => !spec.isRecord(record))} has the wrong shape`;
}
