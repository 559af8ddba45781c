import type { RecordField } from './store-file.js';

/** How one store's records are recognised and named in its file. */
export interface RecordSpec<T> {
  /** The array field holding the records, e.g. `sessions`. */
  readonly field: RecordField;
  /** Accepts a record of the right shape; a record it refuses is dropped (and counted) on load. */
  readonly isRecord: (value: unknown) => value is T;
  /** The record's id: session id, token or client id. */
  readonly idOf: (record: T) => string;
}
