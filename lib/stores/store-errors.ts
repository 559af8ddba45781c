/**
 * Typed errors of the persistent stores. Callers branch on `code`; no message
 * carries a session id, a token or user data (NFR-4).
 */
// The queue refuses bad arguments with it too, so it lives below both layers.
export { InvalidArgumentError, describeType } from '../support/invalid-argument.js';

/**
 * A store file declares a `version` newer than this library understands.
 * `loadFromStorage` rejects with it and leaves the file untouched: a newer
 * release wrote it, and overwriting or moving it aside would lose its data.
 */
export class UnsupportedStoreVersionError extends Error {
  override readonly name = 'UnsupportedStoreVersionError';
  readonly code = 'ERR_STORE_VERSION' as const;
  /** The file that was read. */
  readonly filePath: string;
  /** The version found in the file. */
  readonly version: number;
  /** The newest version this library reads. */
  readonly supportedVersion: number;

  constructor(filePath: string, version: number, supportedVersion: number) {
    super(`${filePath} has store version ${version}; this library reads up to version ${supportedVersion}`);
    this.filePath = filePath;
    this.version = version;
    this.supportedVersion = supportedVersion;
  }
}

/**
 * `shutdown()` could not put every store on disk. `errors` holds each failed
 * store's own error, in the order the stores were given.
 */
export class StoreFlushError extends AggregateError {
  override readonly name = 'StoreFlushError';
  readonly code = 'ERR_STORE_FLUSH' as const;

  constructor(errors: readonly unknown[], total: number) {
    super(errors, `${errors.length} of ${total} stores could not be flushed`);
  }
}

/** Shutdown did not finish within its time limit. */
export class ShutdownTimeoutError extends Error {
  override readonly name = 'ShutdownTimeoutError';
  readonly code = 'ERR_SHUTDOWN_TIMEOUT' as const;
  /** The limit that was exceeded. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`shutdown did not finish within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A change was asked of a store after `close()` (or `shutdown()`) began.
 * Refused rather than acknowledged: it would never reach disk.
 */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
  readonly code = 'ERR_STORE_CLOSED' as const;
  /** The store, e.g. `sessions`. */
  readonly store: string;
  /** The refused method, e.g. `createSession`. */
  readonly operation: string;

  constructor(store: string, operation: string) {
    super(`the ${store} store is closed; ${operation} was refused and nothing was changed`);
    this.store = store;
    this.operation = operation;
  }
}
