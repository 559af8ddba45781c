/**
 * The journal beside a store file (issue 15): `<file>.journal`, a plain-text
 * header line `ssm-journal 1 <salt hex> <base snapshot id>`, then one
 * encrypted entry per line. A line is written with one write call ending in
 * `\n`, so a reader that stops at the last `\n` never sees half an entry.
 */
import type { KeyedCodec } from '../encryption/keyed-codec.js';
import { siblingPath } from '../files/sibling-name.js';
import { isObject, isString } from './store-file.js';

const MAGIC = 'ssm-journal';
const FORMAT = 1;
const NEWLINE = 0x0a;

/** The journal path of a store file: `<file>.journal`, name cut and hashed when it would pass 255 bytes. */
export const journalPathOf = (filePath: string): string => siblingPath(filePath, '.journal');

/** What a journal header names: the salt of every entry's key and the snapshot it continues. */
export interface JournalHeader {
  readonly saltHex: string;
  /** The id (payload IV, hex) of the snapshot the first entry applies to. */
  readonly base: string;
}

/** Records put (whole) and ids deleted by one save, in that order. */
export interface ChangeEntry {
  readonly put: readonly unknown[];
  readonly del: readonly string[];
}

/** Written just before a checkpoint renames its snapshot: entries after `covers` (a byte offset) apply to `snapshot`. */
export interface CheckpointEntry {
  readonly checkpoint: { readonly snapshot: string; readonly covers: number };
}

export type JournalEntry = ChangeEntry | CheckpointEntry;

/** The header line, newline included. */
export function formatHeader(header: JournalHeader): string {
  return `${MAGIC} ${FORMAT} ${header.saltHex} ${header.base}\n`;
}

/** A header line without its newline: salt and base are 32 lower-case hex digits each. */
const HEADER = new RegExp(`^${MAGIC} ${FORMAT} ([0-9a-f]{32}) ([0-9a-f]{32})$`);

/** The header of a journal's first line, or undefined when it is not one this library wrote. */
export function parseHeader(line: string): JournalHeader | undefined {
  const match = HEADER.exec(line);
  // Both groups are mandatory: a match holds both.
  return match === null ? undefined : { saltHex: match[1] as string, base: match[2] as string };
}

/** One entry as a journal line, newline included. */
export function encodeEntry(codec: KeyedCodec, entry: JournalEntry): string {
  return `${codec.sealLine(JSON.stringify(entry))}\n`;
}

/** Decrypts one line; throws DecryptionError when it fails authentication, returns a string saying what is wrong otherwise. */
export function decodeEntry(codec: KeyedCodec, line: string): JournalEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(codec.openLine(line));
  } catch (error) {
    if (error instanceof SyntaxError) return 'not JSON';
    throw error;
  }
  if (!isObject(value)) return 'not an object';
  const { checkpoint } = value;
  if (isObject(checkpoint)) {
    const { snapshot, covers } = checkpoint;
    return isString(snapshot) && Number.isSafeInteger(covers) ? { checkpoint: { snapshot, covers: covers as number } } : 'bad checkpoint';
  }
  const { put, del } = value;
  if (!Array.isArray(put) || !Array.isArray(del) || !del.every(isString)) return 'bad change entry';
  return { put, del };
}

/** Whether an entry is a checkpoint marker. */
export const isCheckpoint = (entry: JournalEntry): entry is CheckpointEntry => 'checkpoint' in entry;

/** A complete line of a journal and the byte offset just past its newline. */
export interface JournalLine {
  readonly text: string;
  readonly end: number;
}

/** The complete lines of `bytes` (read from file offset `from`); bytes after the last newline are a torn or growing tail. */
export function completeLines(bytes: Buffer, from: number): JournalLine[] {
  const lines: JournalLine[] = [];
  let start = 0;
  for (;;) {
    const newline = bytes.indexOf(NEWLINE, start);
    if (newline < 0) return lines;
    lines.push({ text: bytes.toString('latin1', start, newline), end: from + newline + 1 });
    start = newline + 1;
  }
}

/**
 * The id of a snapshot: its payload's IV (hex), read without decrypting
 * (`salt:iv:...`). Undefined when the bytes do not start like a payload.
 */
export function snapshotIdOf(prefix: string): string | undefined {
  const match = /^\s*[0-9a-f]{32}:([0-9a-f]{32}):/.exec(prefix);
  return match?.[1];
}
