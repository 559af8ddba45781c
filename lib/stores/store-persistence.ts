/**
 * What the three stores share: a store's file, its coalesced saves and its
 * load. A store keeps its records; this keeps them on disk.
 */
import type { EncryptionService } from '../encryption/encryption-service.js';
import { loadSnapshot } from './load-snapshot.js';
import { SaveCoalescer } from './save-coalescer.js';
import { defaultStorePath, serializeSnapshot, type RecordField } from './store-file.js';
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

  constructor(service: EncryptionService, storagePath: string | undefined, spec: StoreFileSpec<T>, logger: StoreLogger | undefined) {
    this.#service = service;
    this.#filePath = storagePath ?? defaultStorePath(spec.defaultFileName);
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

  /** Reports a save nobody awaits; the error's code and message only, never a record. */
  reportFailedSave(error: unknown, message: string): void {
    safeLog(this.#logger, 'error', { store: this.#spec.name, filePath: this.#filePath, ...describeError(error) }, message);
  }
}
