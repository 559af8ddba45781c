/**
 * The read side of the store engine (issue 15, issue 9 item 3) on hand-built
 * files: which journal a load replays onto which snapshot, what a catch-up
 * adopts, and what a read leaves open. A codec made from a random key stands
 * in for the service's, so no test here pays for a key derivation; a provider
 * that records the salts asked for shows when a read would derive a key.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeyedCodec } from '../lib/encryption/keyed-codec.js';
import { encodeEntry, formatHeader, type JournalEntry } from '../lib/stores/journal-format.js';
import type { RecordSpec } from '../lib/stores/record-rules-spec.js';
import { STORE_VERSION, isObject, serializeSnapshot } from '../lib/stores/store-file.js';
import { readStoreImage } from '../lib/stores/store-image.js';
import { StoreSync } from '../lib/stores/store-sync.js';
import { MissingKeyError, readSnapshotId, statPath, type CodecProvider } from '../lib/stores/snapshot-reader.js';
import { makeTempDir, removeTempDir } from './helpers/store-harness.js';

interface Item {
  readonly id: string;
  readonly v: number;
}
const spec: RecordSpec<Item> = {
  field: 'sessions',
  isRecord: (value): value is Item => isObject(value) && typeof value.id === 'string' && typeof value.v === 'number',
  idOf: (item) => item.id,
};

const codec = new KeyedCodec(randomBytes(16), randomBytes(32));
const OTHER_ID = 'f'.repeat(32);

let dir: string;
let asked: string[];
/** Gives `codec` for its salt and records every salt asked for; another salt is a key still to derive. */
const codecOf: CodecProvider = (saltHex) => {
  asked.push(saltHex);
  if (saltHex !== codec.saltHex) throw new MissingKeyError(saltHex);
  return codec;
};
const file = (): string => path.join(dir, 'items.enc');
const journal = (): string => `${file()}.journal`;

beforeEach(() => {
  dir = makeTempDir();
  asked = [];
});
afterEach(() => {
  jest.restoreAllMocks();
  removeTempDir(dir);
});

/** Writes the snapshot (records, or any plaintext) and returns its id. */
function writeSnapshot(content: readonly Item[] | string): string {
  fs.writeFileSync(file(), codec.sealPayload(typeof content === 'string' ? content : serializeSnapshot('sessions', content)));
  return readSnapshotId(file())!;
}

/** Writes a journal continuing `base` and returns the end offset of each entry line. */
function writeJournal(base: string, entries: readonly JournalEntry[]): number[] {
  fs.writeFileSync(journal(), formatHeader({ saltHex: codec.saltHex, base }), 'latin1');
  return appendEntries(entries);
}

function appendEntries(entries: readonly JournalEntry[]): number[] {
  return entries.map((entry) => {
    fs.appendFileSync(journal(), encodeEntry(codec, entry), 'latin1');
    return fs.statSync(journal()).size;
  });
}

const put = (...items: Item[]): JournalEntry => ({ put: items, del: [] });
const del = (...ids: string[]): JournalEntry => ({ put: [], del: ids });
const ids = (records: ReadonlyMap<string, Item>): Record<string, number> => Object.fromEntries([...records].map(([id, item]) => [id, item.v]));

describe('the load rule: which journal entries apply to the snapshot (FR-1.1, issue 15)', () => {
  test('a journal beside no snapshot is stale, and no key is derived to read it', () => {
    writeJournal(OTHER_ID, [put({ id: 'a', v: 1 })]);
    const image = readStoreImage(file(), spec, codecOf);
    expect(image.journalState).toBe('stale');
    expect(image.journal).toBeUndefined();
    expect(ids(image.records)).toEqual({});
    expect(asked).toEqual([]);
  });

  test('an unreadable snapshot is not replayed onto, even by a journal naming its id: the store starts empty (issue 9 item 5)', () => {
    const id = writeSnapshot('not json at all');
    writeJournal(id, [put({ id: 'a', v: 1 })]);
    const image = readStoreImage(file(), spec, codecOf);
    expect(image.snapshot.problem).toBe('not JSON');
    expect(image.journalState).toBe('stale');
    expect(image.journal).toBeUndefined();
    expect(ids(image.records)).toEqual({});
  });

  test('a checkpoint marker naming another snapshot does not make the journal continue this one', () => {
    writeSnapshot([{ id: 'a', v: 1 }]);
    const [first] = writeJournal(OTHER_ID.replace('f', 'e'), [put({ id: 'b', v: 1 })]);
    appendEntries([{ checkpoint: { snapshot: OTHER_ID, covers: first! } }, put({ id: 'c', v: 1 })]);
    const image = readStoreImage(file(), spec, codecOf);
    expect(image.journalState).toBe('stale');
    expect(image.journal).toBeUndefined();
    expect(ids(image.records)).toEqual({ a: 1 });
  });

  test('with a marker naming the snapshot, only the entries after its covers apply, the last marker winning', () => {
    const id = writeSnapshot([{ id: 'a', v: 2 }, { id: 'b', v: 2 }]);
    const [first, second] = writeJournal(OTHER_ID, [put({ id: 'a', v: 1 }), del('b')]);
    const ends = appendEntries([
      { checkpoint: { snapshot: id, covers: first! } },
      { checkpoint: { snapshot: id, covers: second! } },
      put({ id: 'c', v: 1 }),
    ]);
    const image = readStoreImage(file(), spec, codecOf);
    // The snapshot already holds what the entries up to `covers` did, and more (here a newer a, b back).
    expect(ids(image.records)).toEqual({ a: 2, b: 2, c: 1 });
    expect(image.journalState).toBeUndefined();
    expect(image.journal?.offset).toBe(ends[2]);
  });

  test('a journal continuing the snapshot replays every entry, the last operation on an id winning', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }, { id: 'b', v: 1 }]);
    const ends = writeJournal(id, [put({ id: 'a', v: 2 }, { id: 'c', v: 1 }), del('b'), put({ id: 'b', v: 3 }), del('c')]);
    const image = readStoreImage(file(), spec, codecOf);
    expect(ids(image.records)).toEqual({ a: 2, b: 3 });
    expect(image.journalState).toBeUndefined();
    expect(image.journal?.offset).toBe(ends[3]);
  });
});

describe('a read leaves nothing open (NFR-3)', () => {
  /** The descriptors `read` opened and did not close. */
  function leftOpenBy(read: () => void): number[] {
    const open = new Set<number>();
    const openSync = jest.spyOn(fs, 'openSync');
    const closeSync = jest.spyOn(fs, 'closeSync');
    try {
      read();
    } catch {
      // The caller asserts the error; only descriptors matter here.
    } finally {
      for (const result of openSync.mock.results) if (result.type === 'return') open.add(result.value as number);
      for (const [fd] of closeSync.mock.calls) open.delete(fd);
      openSync.mockRestore();
      closeSync.mockRestore();
    }
    return [...open];
  }

  test('the journal descriptor is closed after a load that replays it, and after one whose snapshot throws', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(id, [put({ id: 'b', v: 1 })]);
    expect(leftOpenBy(() => expect(ids(readStoreImage(file(), spec, codecOf).records)).toEqual({ a: 1, b: 1 }))).toEqual([]);
    fs.writeFileSync(file(), codec.sealPayload(JSON.stringify({ version: STORE_VERSION + 1, sessions: [] })));
    expect(() => readStoreImage(file(), spec, codecOf)).toThrow(expect.objectContaining({ code: 'ERR_STORE_VERSION' }));
    expect(leftOpenBy(() => readStoreImage(file(), spec, codecOf))).toEqual([]);
  });
});

describe('catching up keeps pending local changes on top (FR-3.3, DESIGN invariant 3)', () => {
  test('a journal tail deleting or putting an id changed locally leaves the local change in place; other ids follow the file', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }, { id: 'b', v: 1 }, { id: 'c', v: 1 }]);
    writeJournal(id, []);
    const records = new Map<string, Item>();
    const sync = new StoreSync(file(), spec, records);
    expect(sync.catchUp(codecOf, true).kind).toBe('reload');
    records.set('a', { id: 'a', v: 9 });
    sync.pending.set('a', true);
    records.delete('b');
    sync.pending.set('b', true);
    appendEntries([del('a', 'c'), put({ id: 'b', v: 2 }, { id: 'd', v: 2 })]);
    expect(sync.catchUp(codecOf, true)).toEqual({ kind: 'tail', corruptLines: 0, badRecords: 0 });
    expect(ids(records)).toEqual({ a: 9, d: 2 });
  });
});

describe('one instance\'s view of its file (FR-3.3, issue 9 item 3)', () => {
  /** An instance that has read the current files under the lock. */
  function loaded(): { sync: StoreSync<Item>; records: Map<string, Item> } {
    const records = new Map<string, Item>();
    const sync = new StoreSync(file(), spec, records);
    expect(sync.catchUp(codecOf, true).kind).toBe('reload');
    return { sync, records };
  }

  test('a snapshot rewritten whole while the journal also grew is read again whole, not taken as a tail', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(id, []);
    const { sync, records } = loaded();
    // The original server rewrites the file (a new inode); a writer that had not seen it appends.
    fs.writeFileSync(`${file()}.new`, codec.sealPayload(serializeSnapshot('sessions', [{ id: 'a', v: 1 }, { id: 'z', v: 1 }])));
    fs.renameSync(`${file()}.new`, file());
    appendEntries([put({ id: 'b', v: 1 })]);
    expect(sync.catchUp(codecOf, true)).toMatchObject({ kind: 'reload', image: { journalState: 'stale' } });
    expect(ids(records)).toEqual({ a: 1, z: 1 });
  });

  test('a snapshot rewritten in place with the same size and mtime is told apart by its id while recently modified', () => {
    const second = Math.floor(Date.now() / 1000);
    writeSnapshot([{ id: 'a', v: 1 }]);
    fs.utimesSync(file(), second, second);
    const { sync, records } = loaded();
    const stamp = fs.statSync(file());
    fs.writeFileSync(file(), codec.sealPayload(serializeSnapshot('sessions', [{ id: 'a', v: 2 }])));
    fs.utimesSync(file(), second, second);
    const now = fs.statSync(file());
    expect([now.ino, now.size, now.mtimeMs]).toEqual([stamp.ino, stamp.size, stamp.mtimeMs]);
    expect(sync.isCurrent()).toBe(false);
    expect(sync.catchUp(codecOf, false).kind).toBe('reload');
    expect(ids(records)).toEqual({ a: 2 });
    expect(sync.isCurrent()).toBe(true);
  });

  test('an unreadable snapshot: a lookup keeps serving what it read, a locked catch-up adopts it (the store starts empty)', () => {
    writeSnapshot([{ id: 'a', v: 1 }]);
    const { sync, records } = loaded();
    fs.writeFileSync(file(), 'not a store file');
    expect(sync.catchUp(codecOf, false)).toEqual({ kind: 'current' });
    expect(ids(records)).toEqual({ a: 1 });
    expect(sync.catchUp(codecOf, true)).toMatchObject({ kind: 'reload', image: { snapshot: { problem: expect.any(String) } } });
    expect(ids(records)).toEqual({});
  });

  test('a reload keeps pending local changes on top: a put stays, a delete stays deleted', () => {
    writeSnapshot([{ id: 'a', v: 1 }, { id: 'b', v: 1 }]);
    const { sync, records } = loaded();
    records.set('a', { id: 'a', v: 9 });
    sync.pending.set('a', true);
    records.delete('b');
    sync.pending.set('b', false);
    writeSnapshot([{ id: 'a', v: 2 }, { id: 'b', v: 2 }, { id: 'c', v: 2 }]);
    expect(sync.catchUp(codecOf, true).kind).toBe('reload');
    expect(ids(records)).toEqual({ a: 9, c: 2 });
    expect(records.has('b')).toBe(false);
  });

  test('a journal that cannot be used is ignored by lookups until it changes, and read again under the lock', () => {
    writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(OTHER_ID, [put({ id: 'b', v: 1 })]);
    const records = new Map<string, Item>();
    const sync = new StoreSync(file(), spec, records);
    expect(sync.catchUp(codecOf, false)).toMatchObject({ kind: 'reload', image: { journalState: 'stale' } });
    expect(sync.isCurrent()).toBe(true);
    expect(sync.catchUp(codecOf, false)).toEqual({ kind: 'current' });
    expect(sync.catchUp(codecOf, true)).toMatchObject({ kind: 'reload', image: { journalState: 'stale' } });
    appendEntries([put({ id: 'c', v: 1 })]);
    expect(sync.isCurrent()).toBe(false);
    expect(ids(records)).toEqual({ a: 1 });
  });

  test('its own writes, once noted, do not look like another writer\'s; a journal cleared by a note is forgotten', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    const records = new Map<string, Item>([['a', { id: 'a', v: 1 }]]);
    const sync = new StoreSync(file(), spec, records);
    sync.noteWritten({ snapshot: { stamp: statPath(file()), id } });
    expect(sync.isCurrent()).toBe(true);
    // A journal this instance did not write (stale: it continues another snapshot).
    writeJournal(OTHER_ID, []);
    expect(sync.isCurrent()).toBe(false);
    expect(sync.catchUp(codecOf, true)).toMatchObject({ kind: 'reload', image: { journalState: 'stale' } });
    fs.rmSync(journal());
    sync.noteWritten({ journal: null });
    expect(sync.isCurrent()).toBe(true);
    const ends = writeJournal(id, [put({ id: 'b', v: 1 })]);
    const cursor = { header: { saltHex: codec.saltHex, base: id }, headerLine: formatHeader({ saltHex: codec.saltHex, base: id }).slice(0, -1), offset: ends[0]!, stamp: statPath(journal())! };
    sync.noteWritten({ journal: cursor });
    sync.noteWritten({ snapshot: { stamp: statPath(file()), id } });
    expect(sync.journal).toEqual(cursor);
    expect(sync.snapshotId).toBe(id);
    expect(sync.isCurrent()).toBe(true);
    appendEntries([put({ id: 'c', v: 1 })]);
    expect(sync.catchUp(codecOf, false)).toEqual({ kind: 'tail', corruptLines: 0, badRecords: 0 });
    expect(ids(records)).toEqual({ a: 1, c: 1 });
  });

  test('the pending changes taken for a save are put back if it fails, without undoing a change made since', () => {
    const records = new Map<string, Item>([['a', { id: 'a', v: 1 }]]);
    const sync = new StoreSync(file(), spec, records);
    sync.pending.set('a', true);
    sync.pending.set('b', false);
    const { put: puts, del: dels, restore } = sync.takePending();
    expect([puts, dels, sync.pending.size]).toEqual([[{ id: 'a', v: 1 }], ['b'], 0]);
    sync.pending.set('a', false);
    restore();
    expect([...sync.pending]).toEqual([['a', false], ['b', false]]);
  });

  test('before its first read an instance is not current, even with no file on disk; after it, it is until a file changes', () => {
    const records = new Map<string, Item>();
    const sync = new StoreSync(file(), spec, records);
    expect(sync.isCurrent()).toBe(false);
    expect(sync.catchUp(codecOf, false).kind).toBe('reload');
    expect(sync.isCurrent()).toBe(true);
    writeSnapshot([{ id: 'a', v: 1 }]);
    expect(sync.isCurrent()).toBe(false);
  });
});

describe('journal lines as read (FR-1, DESIGN invariant 4)', () => {
  const GARBAGE = 'AAAA.BBBB.CCCC\n';

  test('a failing line is corruption only when a good line follows: each counted once; the cursor stops before a bad tail', () => {
    const id = writeSnapshot([]);
    writeJournal(id, [put({ id: 'a', v: 1 })]);
    fs.appendFileSync(journal(), GARBAGE);
    appendEntries([put({ id: 'b', v: 1 })]);
    fs.appendFileSync(journal(), GARBAGE + GARBAGE);
    const [last] = appendEntries([put({ id: 'c', v: 1 }, { id: 'd' } as unknown as Item)]);
    fs.appendFileSync(journal(), `${GARBAGE}torn`);
    const image = readStoreImage(file(), spec, codecOf);
    expect(ids(image.records)).toEqual({ a: 1, b: 1, c: 1 });
    expect([image.corruptLines, image.badRecords, image.journal?.offset]).toEqual([3, 1, last]);
  });

  test('a catch-up reads the tail the same way: counts, and a cursor that stops before a bad tail', () => {
    const id = writeSnapshot([]);
    writeJournal(id, []);
    const records = new Map<string, Item>();
    const sync = new StoreSync(file(), spec, records);
    sync.catchUp(codecOf, true);
    const start = sync.journal?.offset;
    // A tail that is only a bad line: nothing applied, the cursor stays, and the grown file is now known.
    fs.appendFileSync(journal(), GARBAGE);
    expect(sync.catchUp(codecOf, false)).toEqual({ kind: 'tail', corruptLines: 0, badRecords: 0 });
    expect(sync.journal?.offset).toBe(start);
    expect(sync.isCurrent()).toBe(true);
    const [last] = appendEntries([put({ id: 'a', v: 1 }, { id: 'x' } as unknown as Item)]);
    fs.appendFileSync(journal(), GARBAGE);
    expect(sync.catchUp(codecOf, false)).toEqual({ kind: 'tail', corruptLines: 1, badRecords: 1 });
    expect(sync.journal?.offset).toBe(last);
    expect(sync.isCurrent()).toBe(true);
    expect(ids(records)).toEqual({ a: 1 });
    // The bad tail is read again from the cursor, and counted once a good line follows it.
    const [next] = appendEntries([del('a')]);
    expect(sync.catchUp(codecOf, false)).toEqual({ kind: 'tail', corruptLines: 1, badRecords: 0 });
    expect(sync.journal?.offset).toBe(next);
    expect(ids(records)).toEqual({});
  });

  test.each<[string, string]>([
    ['empty', ''],
    ['a header without its newline', formatHeader({ saltHex: codec.saltHex, base: OTHER_ID }).slice(0, -1)],
    ['another header', `ssm-journal 2 ${codec.saltHex} ${OTHER_ID}\n`],
  ])('a journal that is %s is unreadable: not applied, the snapshot alone counts', (_, text) => {
    writeSnapshot([{ id: 'a', v: 1 }]);
    fs.writeFileSync(journal(), text, 'latin1');
    const image = readStoreImage(file(), spec, codecOf);
    expect([image.journalState, image.journal, ids(image.records)]).toEqual(['unreadable', undefined, { a: 1 }]);
  });
});

describe('the snapshot as read (FR-1, issue 9 item 5)', () => {
  const sealed = (document: unknown): void => void fs.writeFileSync(file(), codec.sealPayload(typeof document === 'string' ? document : JSON.stringify(document)));

  test.each<[string, unknown, string]>([
    ['not JSON', '{"version": 1,', 'not JSON'],
    ['a JSON array', [1], 'not a JSON object'],
    ['JSON null', null, 'not a JSON object'],
    ['no version', { sessions: [] }, 'no valid version'],
    ['a version in a string', { version: '1', sessions: [] }, 'no valid version'],
    ['a fractional version', { version: 1.5, sessions: [] }, 'no valid version'],
    ['version 0', { version: 0, sessions: [] }, 'no valid version'],
    ['no records array', { version: 1, sessions: {} }, 'no "sessions" array'],
  ])('a file that decrypts to %s is unreadable, with that problem and no records', (_, document, problem) => {
    sealed(document);
    const image = readStoreImage(file(), spec, codecOf);
    expect(image.snapshot).toMatchObject({ problem, badRecords: 0, id: readSnapshotId(file()) });
    expect(image.records.size).toBe(0);
  });

  test('records the spec refuses are dropped and counted; the stamp is the file\'s', () => {
    sealed({ version: 1, sessions: [{ id: 'a', v: 1 }, { id: 'b' }, 'c', { id: 'd', v: 4 }] });
    const image = readStoreImage(file(), spec, codecOf);
    const stats = fs.statSync(file());
    expect(ids(image.records)).toEqual({ a: 1, d: 4 });
    expect(image.snapshot).toEqual({ records: [{ id: 'a', v: 1 }, { id: 'd', v: 4 }], id: readSnapshotId(file()), stamp: { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs }, badRecords: 2 });
    expect(image.badRecords).toBe(2);
  });

  test('a payload that is not well formed is unreadable (moved aside later); one that fails authentication throws, naming the file', () => {
    fs.writeFileSync(file(), `${codec.saltHex}:${'0'.repeat(32)}:zz`);
    expect(readStoreImage(file(), spec, codecOf).snapshot.problem).toMatch(/expected 4 colon-separated parts/);
    const otherKey = new KeyedCodec(Buffer.from(codec.saltHex, 'hex'), randomBytes(32));
    fs.writeFileSync(file(), otherKey.sealPayload(serializeSnapshot('sessions', [])));
    expect(() => readStoreImage(file(), spec, codecOf)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPT', message: expect.stringContaining(file()) }));
  });

  test('a payload in capitals (no salt-shaped prefix) is read through the string parser, its id unknown; a key still to derive is asked for, never taken for a bad file', () => {
    fs.writeFileSync(file(), `  ${codec.sealPayload(serializeSnapshot('sessions', [{ id: 'a', v: 1 }])).toUpperCase()}\n`);
    const image = readStoreImage(file(), spec, codecOf);
    expect(ids(image.records)).toEqual({ a: 1 });
    expect(image.snapshot.id).toBeUndefined();
    const underived: CodecProvider = (saltHex) => {
      throw new MissingKeyError(saltHex);
    };
    expect(() => readStoreImage(file(), spec, underived)).toThrow(expect.objectContaining({ code: 'ERR_MISSING_KEY', saltHex: codec.saltHex }));
    writeSnapshot([{ id: 'a', v: 1 }]);
    const readSync = jest.spyOn(fs, 'readSync');
    const readFileSync = jest.spyOn(fs, 'readFileSync');
    expect(() => readStoreImage(file(), spec, underived)).toThrow(expect.objectContaining({ code: 'ERR_MISSING_KEY', saltHex: codec.saltHex }));
    // Only the prefix was read before the key was asked for, not the whole file.
    expect(readSync.mock.calls.map((call) => call[3])).toEqual([80]);
    expect(readFileSync).not.toHaveBeenCalled();
  });

  test('a path that cannot be opened for another reason than absence throws its error, never reads as an empty store', () => {
    fs.symlinkSync(file(), file());
    expect(() => readStoreImage(file(), spec, codecOf)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  });
});
