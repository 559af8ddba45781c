/**
 * A store's whole state on disk: the snapshot with the journal replayed onto
 * it, by the load rule of docs/DESIGN.md ("Journal and checkpoints"). The
 * journal is opened before the snapshot is read, so a reader racing a
 * checkpoint sees either the old pair or the new snapshot with the old
 * journal, whose checkpoint marker (appended before the rename) names it.
 */
// 'fs', not 'node:fs': a consumer's jest.mock('fs') must reach these reads too (see files/node-fs.ts).
import fs from 'fs';
import { errorCode } from '../files/fs-seam.js';
import { journalPathOf } from './journal-format.js';
import { readJournalFile, scanLines, type Change, type JournalCursor } from './journal-reader.js';
import type { RecordSpec } from './record-rules-spec.js';
import { readSnapshot, type CodecProvider, type SnapshotImage } from './snapshot-reader.js';

/** Why a journal beside the snapshot was not applied: it continues another snapshot, or its header is not ours. */
export type JournalState = 'stale' | 'unreadable';

/** Records by id, with where they came from and what was wrong. */
export interface StoreImage<T> {
  readonly records: Map<string, T>;
  readonly snapshot: Omit<SnapshotImage<T>, 'records'>;
  /** Set when the journal applies: where a catch-up continues. */
  readonly journal: JournalCursor | undefined;
  /** Set when a journal is present but not applied (`journal` is then undefined); absent when there is none or it applied. */
  readonly journalState?: JournalState;
  /** Records refused by the spec, in the snapshot and in journal entries. */
  readonly badRecords: number;
  /** Journal lines that failed authentication with good lines after them. */
  readonly corruptLines: number;
}

/** Reads the snapshot and replays the journal; throws MissingKeyError (async callers) or UnsupportedStoreVersionError. */
export function readStoreImage<T>(filePath: string, spec: RecordSpec<T>, codecOf: CodecProvider): StoreImage<T> {
  let fd: number | undefined;
  try {
    fd = fs.openSync(journalPathOf(filePath), 'r');
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  try {
    const snapshot = readSnapshot(filePath, spec, codecOf);
    const records = new Map<string, T>();
    for (const record of snapshot.records) records.set(spec.idOf(record), record);
    const base = { records, snapshot, badRecords: snapshot.badRecords, corruptLines: 0 };
    if (fd === undefined) return { ...base, journal: undefined };
    const file = readJournalFile(fd);
    if (file === undefined) return { ...base, journal: undefined, journalState: 'unreadable' };
    if (snapshot.problem !== undefined || snapshot.id === undefined) return { ...base, journal: undefined, journalState: 'stale' };
    const scan = scanLines(file.lines, file.cursor.offset, spec, codecOf, file.cursor.header.saltHex);
    let from: number | undefined;
    if (file.cursor.header.base === snapshot.id) from = 0;
    else from = scan.checkpoints.findLast((marker) => marker.snapshot === snapshot.id)?.covers;
    if (from === undefined) return { ...base, journal: undefined, journalState: 'stale' };
    const start = from;
    applyChanges(records, scan.changes.filter((change) => change.end > start), spec);
    return {
      ...base,
      journal: { ...file.cursor, offset: scan.offset },
      badRecords: base.badRecords + scan.badRecords,
      corruptLines: scan.corruptLines,
    };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Applies changes in order: for each id the last operation wins. */
export function applyChanges<T>(records: Map<string, T>, changes: readonly Change<T>[], spec: RecordSpec<T>, skip?: ReadonlySet<string>): void {
  for (const change of changes) {
    for (const record of change.put) {
      const id = spec.idOf(record);
      if (skip?.has(id) !== true) records.set(id, record);
    }
    for (const id of change.del) if (skip?.has(id) !== true) records.delete(id);
  }
}
