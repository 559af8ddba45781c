/**
 * One store instance's view of its file (issue 9 item 3, issue 15) on
 * hand-built files: when it is current, what a catch-up reads (a tail or the
 * whole file), what it adopts, and how its own writes and pending local
 * changes are kept. See helpers/engine-files.ts.
 */
import fs from 'node:fs';
import { encodeEntry, formatHeader } from '../lib/stores/journal-format.js';
import { serializeSnapshot } from '../lib/stores/store-file.js';
import { StoreSync } from '../lib/stores/store-sync.js';
import { statPath } from '../lib/stores/snapshot-reader.js';
import { fsError } from './helpers/common.js';
import { OTHER_ID, codec, del, ids, put, spec, useEngineFiles, type Item } from './helpers/engine-files.js';

const { file, journal, codecOf, writeSnapshot, writeJournal, appendEntries } = useEngineFiles();

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

  test('a journal replaced under the same snapshot (another inode, cut back below the cursor, or another header) is read again whole, never as a tail', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(id, [put({ id: 'b', v: 1 })]);
    const { sync, records } = loaded();
    const header = formatHeader({ saltHex: codec.saltHex, base: id });
    // The same header and more bytes, in a new file renamed over it.
    const replacement = `${header}${encodeEntry(codec, put({ id: 'c', v: 1 }))}${encodeEntry(codec, put({ id: 'd', v: 1 }))}`;
    fs.writeFileSync(`${journal()}.new`, replacement, 'latin1');
    fs.renameSync(`${journal()}.new`, journal());
    expect(sync.catchUp(codecOf, false).kind).toBe('reload');
    expect(ids(records)).toEqual({ a: 1, c: 1, d: 1 });
    // The same file cut back to its header, then one shorter entry: below the cursor.
    fs.writeFileSync(journal(), `${header}${encodeEntry(codec, del('a'))}`, 'latin1');
    expect(sync.catchUp(codecOf, false).kind).toBe('reload');
    expect(ids(records)).toEqual({});
    // The same file rewritten longer under another header (a journal of another snapshot).
    fs.writeFileSync(journal(), `${formatHeader({ saltHex: codec.saltHex, base: OTHER_ID })}${encodeEntry(codec, put({ id: 'e', v: 1 }))}`.padEnd(400, '\n'), 'latin1');
    expect(sync.catchUp(codecOf, false)).toMatchObject({ kind: 'reload', image: { journalState: 'stale' } });
    expect(ids(records)).toEqual({ a: 1 });
  });

  test('a journal removed under the same snapshot is read as gone: the snapshot alone counts', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(id, [put({ id: 'b', v: 1 })]);
    const { sync, records } = loaded();
    fs.rmSync(journal());
    expect(sync.catchUp(codecOf, false).kind).toBe('reload');
    expect([ids(records), sync.journal]).toEqual([{ a: 1 }, undefined]);
  });

  test('a torn tail cut back to the cursor by the next writer costs an empty tail read, not a reload', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    const [end] = writeJournal(id, [put({ id: 'b', v: 1 })]);
    fs.appendFileSync(journal(), 'torn');
    const { sync } = loaded();
    fs.truncateSync(journal(), end);
    expect(sync.catchUp(codecOf, false)).toEqual({ kind: 'tail', corruptLines: 0, badRecords: 0 });
    expect(sync.isCurrent()).toBe(true);
  });

  test('a journal that cannot be opened for another reason than absence fails the catch-up with its error, never read as replaced', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(id, []);
    const { sync, records } = loaded();
    appendEntries([put({ id: 'b', v: 1 })]);
    const { openSync } = fs;
    // One failed open of the journal, as a transient I/O error would; the retry reads the tail.
    let isFaulty = true;
    jest.spyOn(fs, 'openSync').mockImplementation(((target: fs.PathLike, flags: fs.OpenMode) => {
      if (target === journal() && isFaulty) {
        isFaulty = false;
        throw fsError('EIO', 'open');
      }
      return openSync(target, flags);
    }) as typeof fs.openSync);
    expect(() => sync.catchUp(codecOf, true)).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(ids(records)).toEqual({ a: 1 });
    expect(sync.catchUp(codecOf, true).kind).toBe('tail');
    expect(ids(records)).toEqual({ a: 1, b: 1 });
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
    expect([sync.snapshotSize, sync.snapshotId, sync.journal]).toEqual([0, undefined, undefined]);
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    expect(sync.isCurrent()).toBe(false);
    expect(sync.catchUp(codecOf, false).kind).toBe('reload');
    // What a save reads to choose between a whole-file write and a journal.
    expect([sync.snapshotSize, sync.snapshotId]).toEqual([fs.statSync(file()).size, id]);
  });

  test('a snapshot replaced by another writer with an old modification time is read whole, not taken as unchanged (its stamp differs)', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(id, [put({ id: 'b', v: 1 })]);
    const longAgo = Date.now() / 1000 - 120;
    fs.utimesSync(file(), longAgo, longAgo);
    const { sync, records } = loaded();
    expect(ids(records)).toEqual({ a: 1, b: 1 });
    // Another writer (a restored backup, an old server) renames a snapshot of its own over the file,
    // older than the doubt window, and leaves the journal alone.
    const theirs = `${file()}.theirs`;
    fs.writeFileSync(theirs, codec.sealPayload(serializeSnapshot('sessions', [{ id: 'a', v: 2 }, { id: 'c', v: 2 }])));
    fs.utimesSync(theirs, longAgo - 60, longAgo - 60);
    fs.renameSync(theirs, file());
    expect(sync.isCurrent()).toBe(false);
    expect(sync.catchUp(codecOf, true).kind).toBe('reload');
    // The journal continued the old snapshot: it does not apply to theirs.
    expect(ids(records)).toEqual({ a: 2, c: 2 });
  });
});
