import os from 'node:os';
import path from 'node:path';

/** The file format version this library writes and the newest it reads. */
export const STORE_VERSION = 1;

/** The array field that holds a store's records in its file. */
export type RecordField = 'sessions' | 'tokens' | 'clients';

/**
 * The default location of a store file, `~/.sage/<fileName>`. Resolved when a
 * store is constructed, never at import.
 */
export function defaultStorePath(fileName: string): string {
  return path.join(os.homedir(), '.sage', fileName);
}

/** The plaintext of a store file: `{ "version": 1, "<field>": [...] }`. */
export function serializeSnapshot(field: RecordField, records: Iterable<unknown>): string {
  return JSON.stringify({ version: STORE_VERSION, [field]: [...records] });
}

/** A field check for the record guards: any string. */
export const isString = (value: unknown): value is string => typeof value === 'string';
/** A field check for the record guards: a finite number (epoch ms or s). */
export const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
/** A field check for the record guards: an array of strings. */
export const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);
/** A plain JSON object (not null, not an array). */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
