/**
 * Reads a journal: whole (on load, replaying onto the snapshot it continues)
 * or from where this instance stopped (catching up). Synchronous, like the
 * snapshot reader. Complete lines only: bytes after the last newline, and a
 * last line that fails authentication, are a torn tail, never data. A line
 * failing authentication with good lines after it is corruption: skipped
 * and counted.
 */
// 'fs', not 'node:fs': a consumer's jest.mock('fs') must reach these reads too (see files/node-fs.ts).
import fs from 'fs';
import { errorCode } from '../files/fs-seam.js';
import { readFullySync } from '../files/read-fully.js';
import type { RecordSpec } from './record-rules-spec.js';
import { completeLines, decodeEntry, isCheckpoint, parseHeader, type JournalHeader, type JournalLine } from './journal-format.js';
import { stampOf, type CodecProvider, type FileStamp } from './snapshot-reader.js';

/** Where a reader stopped in one journal file. */
export interface JournalCursor {
  readonly header: JournalHeader;
  /** The header line without its newline, compared to tell a replaced journal that reuses an inode. */
  readonly headerLine: string;
  /** Just past the last complete, authentic line read. */
  readonly offset: number;
  /** The file as it was when read; equal stamps mean nothing new. */
  readonly stamp: FileStamp;
}

/** One save's changes, records checked. */
export interface Change<T> {
  readonly put: readonly T[];
  readonly del: readonly string[];
  /** The file offset just past the entry's line. */
  readonly end: number;
}

/** The outcome of scanning journal lines. */
export interface JournalScan<T> {
  readonly changes: Change<T>[];
  /** Checkpoint markers seen: snapshot id and the offset its snapshot covers. */
  readonly checkpoints: { readonly snapshot: string; readonly covers: number; readonly end: number }[];
  readonly offset: number;
  readonly badRecords: number;
  readonly corruptLines: number;
}

/** Decodes lines in order, from file offset `from`. */
export function scanLines<T>(lines: readonly JournalLine[], from: number, spec: RecordSpec<T>, codecOf: CodecProvider, saltHex: string): JournalScan<T> {
  const codec = codecOf(saltHex);
  const changes: Change<T>[] = [];
  const checkpoints: { snapshot: string; covers: number; end: number }[] = [];
  let offset = from;
  let badRecords = 0;
  let corruptLines = 0;
  let pendingBad = 0;
  for (const line of lines) {
    let entry;
    try {
      entry = decodeEntry(codec, line.text);
    } catch (error) {
      if (errorCode(error) !== 'ERR_DECRYPT') throw error;
      // Counted only once a good line follows: a bad last line is a torn tail.
      pendingBad += 1;
      continue;
    }
    corruptLines += pendingBad;
    pendingBad = 0;
    offset = line.end;
    if (typeof entry === 'string') {
      corruptLines += 1;
    } else if (isCheckpoint(entry)) {
      checkpoints.push({ ...entry.checkpoint, end: line.end });
    } else {
      const put = entry.put.filter(spec.isRecord);
      badRecords += entry.put.length - put.length;
      changes.push({ put, del: entry.del, end: line.end });
    }
  }
  return { changes, checkpoints, offset, badRecords, corruptLines };
}

/** A whole journal as read: its cursor and every entry after the header with its end offset. */
export interface JournalFile {
  readonly cursor: JournalCursor;
  readonly lines: JournalLine[];
}

/** Reads a journal from an open descriptor; undefined when it does not start with a header of ours. */
export function readJournalFile(fd: number): JournalFile | undefined {
  const stats = fs.fstatSync(fd);
  const bytes = Buffer.allocUnsafe(stats.size);
  const read = readFullySync(fd, bytes, 0);
  const all = completeLines(bytes.subarray(0, read), 0);
  const first = all[0];
  if (first === undefined) return undefined;
  const header = parseHeader(first.text);
  if (header === undefined) return undefined;
  return {
    cursor: { header, headerLine: first.text, offset: first.end, stamp: { ...stampOf(stats), size: read } },
    lines: all.slice(1),
  };
}

/**
 * What catching up in a journal found: its new lines. No "unchanged" case: the
 * caller reads only a journal whose stamp changed, and one that changed back
 * in between costs a header read and an empty scan.
 */
export interface TailRead<T> {
  readonly cursor: JournalCursor;
  readonly scan: JournalScan<T>;
}

/** Reads what was appended to the journal at `journalPath` since `cursor`; undefined when it was replaced (gone, another file, cut back, another header): read it whole. */
export function readJournalTail<T>(journalPath: string, cursor: JournalCursor, spec: RecordSpec<T>, codecOf: CodecProvider): TailRead<T> | undefined {
  let fd: number;
  try {
    fd = fs.openSync(journalPath, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stats = fs.fstatSync(fd);
    if (stats.ino !== cursor.stamp.ino || stats.size < cursor.offset) return undefined;
    // An inode can be reused by a newer journal: its header (random salt or base) tells them apart.
    const headerBytes = Buffer.allocUnsafe(cursor.headerLine.length + 1);
    readFullySync(fd, headerBytes, 0);
    if (headerBytes.toString('latin1') !== `${cursor.headerLine}\n`) return undefined;
    const bytes = Buffer.allocUnsafe(stats.size - cursor.offset);
    const read = readFullySync(fd, bytes, cursor.offset);
    const size = cursor.offset + read;
    const scan = scanLines(completeLines(bytes.subarray(0, read), cursor.offset), cursor.offset, spec, codecOf, cursor.header.saltHex);
    return { cursor: { ...cursor, offset: scan.offset, stamp: { ...stampOf(stats), size } }, scan };
  } finally {
    fs.closeSync(fd);
  }
}
