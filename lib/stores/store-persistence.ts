/**
 * What the three stores share: a store's file, its coalesced saves and its
 * load. A store keeps its records; this keeps them on disk.
 */
import path from 'node:path';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { loadSnapshot } from './load-snapshot.js';
import { SaveCoalescer } from './save-coalescer.js';
import { defaultStorePath, serializeSnapshot, type RecordField } from './store-file.js';
import { InvalidArgumentError, StoreClosedError } from './store-errors.js';
import { createDefaultStoreLogger, describeError, safeLog, type StoreLogger } from './store-logger.js';

/** How one store's records map onto its file. */
export interface StoreFileSpec<T> {
  /** The store's name in log lines, e.g. `refresh-tokens`. */
  readonly name: string;
  /** The array field holding the records, e.g. `sessions`. */
  readonly field: RecordField;
  /** The file's name under `~/.sage/` when the caller gives no path. */
  readonly defaultFileName: string;
  /** Accepts a record of the right shape; one bad record makes the whole file unreadable. */
  readonly isRecord: (value: unknown) => value is T;
  /** The records to write, read when a save starts. */
  readonly records: () => Iterable<T>;
}

export class StorePersistence<T> {
  /** Saves of this store: at most one running and one waiting. */
  readonly saves: SaveCoalescer;
  readonly #service: EncryptionService;
  readonly #filePath: string;
  readonly #spec: StoreFileSpec<T>;
  readonly #logger: StoreLogger;
  #isClosed = false;

  constructor(service: EncryptionService, storagePath: string | undefined, spec: StoreFileSpec<T>, logger: StoreLogger | undefined) {
    if (typeof service !== 'object' || service === null) throw new InvalidArgumentError('encryptionService', 'an EncryptionService', service);
    this.#service = service;
    this.#filePath = resolveStorePath(storagePath, spec.defaultFileName);
    this.#spec = spec;
    this.#logger = logger ?? createDefaultStoreLogger();
    this.saves = new SaveCoalescer(
      () => serializeSnapshot(spec.field, spec.records()),
      (snapshot) => this.#service.encryptToFile(snapshot, this.#filePath),
    );
  }

  /** The file's records, read under its lock (FR-3.3); see loadSnapshot for bad files. */
  load(): Promise<T[]> {
    return loadSnapshot(this.#service, { filePath: this.#filePath, field: this.#spec.field, isRecord: this.#spec.isRecord }, this.#logger);
  }

  /** The absolute file path, fixed at construction. */
  get filePath(): string {
    return this.#filePath;
  }

  /** Whether some change has not reached disk yet. */
  get hasUnsavedChanges(): boolean {
    return this.saves.isDirty;
  }

  /** Whether `close()` has begun. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /**
   * Throws StoreClosedError (`ERR_STORE_CLOSED`) once `close()` has begun:
   * a change accepted then could be acknowledged and never saved.
   */
  assertOpen(operation: string): void {
    if (this.#isClosed) throw new StoreClosedError(this.#spec.name, operation);
  }

  /**
   * Refuses every later change, then saves what is pending; resolves once it
   * is on disk. Idempotent: a second call saves again (retrying a failure).
   */
  close(): Promise<void> {
    this.#isClosed = true;
    return this.saves.save();
  }

  /** Reports a save nobody awaits; the error's code and message only, never a record. */
  reportFailedSave(error: unknown, message: string): void {
    safeLog(this.#logger, 'error', { store: this.#spec.name, filePath: this.#filePath, ...describeError(error) }, message);
  }
}

/**
 * The store's file as an absolute path, resolved once: a later
 * `process.chdir` must not send saves to a second file (issue 10, defect 8).
 * An empty (or null) path means the default, as in the original. The working
 * directory is prefixed, not folded with `path.resolve`, so `link/..` keeps
 * the meaning the kernel gives it (see canonicalPath).
 */
function resolveStorePath(storagePath: unknown, defaultFileName: string): string {
  if (storagePath === undefined || storagePath === null || storagePath === '') return defaultStorePath(defaultFileName);
  if (typeof storagePath !== 'string' || storagePath.includes('\0')) {
    throw new InvalidArgumentError('storagePath', 'a file path (a string without NUL characters)', storagePath);
  }
  return path.isAbsolute(storagePath) ? storagePath : `${process.cwd()}${path.sep}${storagePath}`;
}
