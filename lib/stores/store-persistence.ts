/**
 * What the three stores share: a store's records kept in step with its file
 * (see store-engine.ts), coalesced saves, fresh reads, transactions, load
 * and close. A store changes its map and names the ids it changed; this
 * puts them on disk without ever replacing records it has not read.
 */
import path from 'node:path';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { NotInitializedError } from '../encryption/encryption-errors.js';
import { checkpoint, needsCheckpoint } from './checkpoint.js';
import { SaveCoalescer } from './save-coalescer.js';
import { statPath } from './snapshot-reader.js';
import { StoreEngine, type EngineSpec } from './store-engine.js';
import { InvalidArgumentError, StoreClosedError } from './store-errors.js';
import { defaultStorePath } from './store-file.js';
import { createDefaultStoreLogger, describeError, safeLog, type StoreLogger } from './store-logger.js';

/** How one store's records map onto its file. */
export interface StoreFileSpec<T> extends EngineSpec<T> {
  /** The file's name under `~/.sage/` when the caller gives no path. */
  readonly defaultFileName: string;
  /** The store's map of records by id; the engine adopts others' changes into it. */
  readonly records: Map<string, T>;
}

export class StorePersistence<T> {
  /** Saves of this store: at most one running and one waiting. */
  readonly saves: SaveCoalescer;
  readonly #service: EncryptionService;
  readonly #filePath: string;
  readonly #spec: StoreFileSpec<T>;
  readonly #logger: StoreLogger;
  readonly #engine: StoreEngine<T>;
  #checkpointing: Promise<void> | undefined;
  #isClosed = false;

  constructor(service: EncryptionService, storagePath: string | undefined, spec: StoreFileSpec<T>, logger: StoreLogger | undefined) {
    if (typeof service !== 'object' || service === null) throw new InvalidArgumentError('encryptionService', 'an EncryptionService', service);
    this.#service = service;
    this.#filePath = resolveStorePath(storagePath, spec.defaultFileName);
    this.#spec = spec;
    this.#logger = logger ?? createDefaultStoreLogger();
    this.#engine = new StoreEngine(service, this.#filePath, spec, spec.records, this.#logger);
    this.#engine.onAppended = () => this.#maybeCheckpoint();
    this.saves = new SaveCoalescer(() => this.#engine.locked(() => undefined));
  }

  /** Notes a change of the record with this id (set or deleted in the map) that the next save must carry. */
  changed(id: string): void {
    this.#engine.sync.pending.set(id, true);
    this.saves.markChanged();
  }

  /** Notes a tidy-up (an expired record dropped on load) that rides along with the next save without making the store dirty. */
  tidied(id: string): void {
    const pending = this.#engine.sync.pending;
    if (!pending.has(id)) pending.set(id, false);
  }

  /** Brings the map up to the file before a synchronous lookup (a few microseconds when nothing changed). */
  refreshSync(): void {
    this.#engine.refreshSync();
  }

  /** Brings the map up to the file before an asynchronous lookup. */
  refresh(): Promise<void> {
    return this.#engine.refresh();
  }

  /**
   * Runs `fn` under the file's in-process and cross-process locks on a map
   * caught up with the file, then writes what it changed; resolves with its
   * result once that is on disk (a read-check-write transaction).
   */
  transaction<R>(fn: () => R): Promise<R> {
    // locked() is async: whatever it or `fn` throws arrives as a rejection.
    return this.#engine.locked(fn);
  }

  /** Reads the file under its locks into the map (pending local changes stay on top); bad files are handled as the engine says. */
  load(): Promise<void> {
    // Checked up front so a missing file does not hide the misconfiguration.
    if (!this.#service.isInitialized()) return Promise.reject(new NotInitializedError('loadFromStorage'));
    return this.#engine.locked(() => undefined);
  }

  /** Resolves once every change made before the call is on disk and a store file exists (as the original's save always wrote one). */
  async flush(): Promise<void> {
    await this.saves.save();
    await this.ensureFile();
  }

  /** Writes the store file when there is none, so a flushed store always leaves its file. */
  async ensureFile(): Promise<void> {
    if (statPath(this.#filePath) !== undefined) return;
    await this.#engine.locked(async () => {
      if (this.#engine.sync.snapshotId === undefined) await this.#engine.fold();
    });
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
   * Refuses every later change, saves what is pending, then folds the
   * journal into the snapshot and removes the journal: afterwards the
   * snapshot alone holds every record, in the original format (a downgrade
   * to the original server reads it). A second call retries a failure.
   */
  async close(): Promise<void> {
    this.#isClosed = true;
    await this.#checkpointing;
    await this.saves.save();
    await this.#engine.locked(async () => {
      // After the locked catch-up, a live journal is one on disk: the stat also finds one this instance never read.
      const { snapshotId, journalPath } = this.#engine.sync;
      if (snapshotId === undefined || statPath(journalPath) !== undefined) await this.#engine.fold();
    });
  }

  /** Whether a change made through this store is not yet on disk. */
  get hasUnsavedChanges(): boolean {
    return this.#engine.hasUnsavedChanges || this.saves.isSaving;
  }

  /** Reports a save nobody awaits; the error's code and message only, never a record. */
  reportFailedSave(error: unknown, message: string): void {
    safeLog(this.#logger, 'error', { store: this.#spec.name, filePath: this.#filePath, ...describeError(error) }, message);
  }

  #maybeCheckpoint(): void {
    if (this.#checkpointing !== undefined || !needsCheckpoint(this.#engine)) return;
    this.#checkpointing = checkpoint(this.#engine, this.#spec.field)
      .then(
        () => undefined,
        (error: unknown) => this.reportFailedSave(error, 'checkpoint of the store journal failed; the journal keeps every change and the next save retries'),
      )
      .finally(() => (this.#checkpointing = undefined));
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
