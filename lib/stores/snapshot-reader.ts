/**
 * Reads a snapshot (the store file in the original format) synchronously:
 * the same code serves the async paths and the synchronous `getSession`.
 */
// 'fs', not 'node:fs': a consumer's jest.mock('fs') must reach these reads too (see files/node-fs.ts).
import fs from 'fs';
import type { KeyedCodec } from '../encryption/keyed-codec.js';
import { parsePayload } from '../encryption/crypto-format.js';
import { DecryptionError } from '../encryption/encryption-errors.js';
import { errorCode } from '../files/fs-seam.js';
import { readFullySync } from '../files/read-fully.js';
import type { RecordSpec } from './record-rules-spec.js';
import { STORE_VERSION, isObject } from './store-file.js';
import { UnsupportedStoreVersionError } from './store-errors.js';

/** Bytes read first: enough for `salt:iv:` and surrounding whitespace. */
const PREFIX_BYTES = 80;

/** Gives the codec of a salt; the async callers' provider throws MissingKeyError instead of deriving. */
export type CodecProvider = (saltHex: string) => KeyedCodec;

/** Thrown by a non-deriving CodecProvider: derive the salt's key asynchronously, then read again. */
export class MissingKeyError extends Error {
  override readonly name = 'MissingKeyError';
  readonly code = 'ERR_MISSING_KEY' as const;
  readonly saltHex: string;
  constructor(saltHex: string) {
    super('the key of a salt has not been derived yet');
    this.saltHex = saltHex;
  }
}

/** What identifies one version of a file cheaply: a replaced or grown file differs in one of these. */
export interface FileStamp {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

export const stampOf = (stats: fs.Stats): FileStamp => ({ ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs });
export const sameStamp = (a: FileStamp | undefined, b: FileStamp | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs);

/**
 * Within this long of a file's modification, an equal stamp is not trusted
 * alone: on file systems with coarse timestamps two versions of one size can
 * share an mtime, and a replaced file often gets the freed inode number back.
 */
const STAMP_DOUBT_MS = 2_000;

/** Whether an equal stamp may still hide another version (see STAMP_DOUBT_MS). */
export const isRecentlyModified = (stamp: FileStamp): boolean => Math.abs(Date.now() - stamp.mtimeMs) < STAMP_DOUBT_MS;

/** The snapshot's id (its payload IV) as read from the file's first bytes; undefined when absent or not a payload. */
export function readSnapshotId(filePath: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(filePath, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const prefix = Buffer.alloc(PREFIX_BYTES);
    const length = readFullySync(fd, prefix, 0);
    return /^\s*[0-9a-f]{32}:([0-9a-f]{32}):/.exec(prefix.toString('latin1', 0, length))?.[1];
  } finally {
    fs.closeSync(fd);
  }
}

/** The stamp of a path now, or undefined when there is no file. */
export function statPath(filePath: string): FileStamp | undefined {
  const stats = fs.statSync(filePath, { throwIfNoEntry: false });
  return stats === undefined ? undefined : stampOf(stats);
}

/** A snapshot as read: its records (in file order), its id, and what was wrong with it. */
export interface SnapshotImage<T> {
  readonly records: T[];
  /** The payload's IV (hex); undefined when there is no file. */
  readonly id: string | undefined;
  readonly stamp: FileStamp | undefined;
  /** Records the spec refused (dropped). */
  readonly badRecords: number;
  /** Why the whole file is unreadable (undecryptable or not a store document); the records are then empty. */
  readonly problem?: string;
}

/** Reads and decrypts the snapshot at `filePath`. A newer version throws UnsupportedStoreVersionError. */
export function readSnapshot<T>(filePath: string, spec: RecordSpec<T>, codecOf: CodecProvider): SnapshotImage<T> {
  let fd: number;
  try {
    fd = fs.openSync(filePath, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { records: [], id: undefined, stamp: undefined, badRecords: 0 };
    throw error;
  }
  let bytes: Buffer;
  let stamp: FileStamp;
  let codec: KeyedCodec | undefined;
  let id: string | undefined;
  try {
    stamp = stampOf(fs.fstatSync(fd));
    // The salt first, from the prefix: a key still to derive must not cost a read of the whole file.
    const prefix = Buffer.alloc(Math.min(PREFIX_BYTES, stamp.size));
    readFullySync(fd, prefix, 0);
    const head = /^\s*([0-9a-f]{32}):([0-9a-f]{32}):/.exec(prefix.toString('latin1'));
    id = head?.[2];
    codec = head?.[1] === undefined ? undefined : codecOf(head[1]);
    bytes = fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const unreadable = (problem: string): SnapshotImage<T> => ({ records: [], id, stamp, badRecords: 0, problem });
  let plaintext: string;
  try {
    // Without a salt-shaped prefix the string parser says what is wrong.
    if (codec !== undefined) plaintext = codec.openPayloadBytes(bytes);
    else {
      const text = bytes.toString('latin1');
      plaintext = codecOf(parsePayload(text).salt.toString('hex')).openPayload(text);
    }
  } catch (error) {
    // Only a DecryptionError (code ERR_DECRYPT) says something about the file; MissingKeyError and the rest go up.
    if (!(error instanceof DecryptionError)) throw error;
    // A well-formed payload that does not authenticate was most likely written under another
    // key: moving it aside would wipe the store for every instance that holds the right key.
    // It stays where it is and the caller gets the error (see README, "What changes").
    if (error.isAuthenticationFailure) throw error.withFilePath(filePath);
    return unreadable(error.message);
  }
  let document: unknown;
  try {
    document = JSON.parse(plaintext);
  } catch {
    return unreadable('not JSON');
  }
  if (!isObject(document)) return unreadable('not a JSON object');
  const { version } = document;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) return unreadable('no valid version');
  if (version > STORE_VERSION) throw new UnsupportedStoreVersionError(filePath, version, STORE_VERSION);
  const entries = document[spec.field];
  if (!Array.isArray(entries)) return unreadable(`no "${spec.field}" array`);
  const records = entries.filter(spec.isRecord);
  return { records, id, stamp, badRecords: entries.length - records.length };
}
