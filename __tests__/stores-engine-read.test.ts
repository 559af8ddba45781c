/**
 * The read side of the store engine (issue 15, issue 9 item 5) on hand-built
 * files: which journal entries a load replays onto which snapshot, how
 * journal lines and the snapshot are read, and what a read leaves open. See
 * helpers/engine-files.ts: no test here pays for a key derivation.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { KeyedCodec } from '../lib/encryption/keyed-codec.js';
import { formatHeader } from '../lib/stores/journal-format.js';
import { STORE_VERSION, serializeSnapshot } from '../lib/stores/store-file.js';
import { scanLines } from '../lib/stores/journal-reader.js';
import { readStoreImage } from '../lib/stores/store-image.js';
import { StoreSync } from '../lib/stores/store-sync.js';
import { MissingKeyError, readSnapshotId, type CodecProvider } from '../lib/stores/snapshot-reader.js';
import { OTHER_ID, codec, del, ids, put, spec, useEngineFiles, type Item } from './helpers/engine-files.js';

const { file, journal, asked, codecOf, writeSnapshot, writeJournal, appendEntries } = useEngineFiles();

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

  test('a journal cut between its stat and its read (a writer truncating a torn tail) is read to its end, on load and as a tail', () => {
    const id = writeSnapshot([]);
    const [first] = writeJournal(id, [put({ id: 'a', v: 1 })]);
    // fstat of the journal reports more bytes than the file holds, as if the tail was cut right after it.
    const journalFds = new Set<number>();
    const { openSync, fstatSync, closeSync } = fs;
    jest.spyOn(fs, 'openSync').mockImplementation(((target: fs.PathLike, flags: fs.OpenMode) => {
      const fd = openSync(target, flags);
      if (target === journal()) journalFds.add(fd);
      return fd;
    }) as typeof fs.openSync);
    jest.spyOn(fs, 'closeSync').mockImplementation((fd) => {
      journalFds.delete(fd);
      closeSync(fd);
    });
    jest.spyOn(fs, 'fstatSync').mockImplementation(((fd: number) => {
      const stats = fstatSync(fd);
      const size = journalFds.has(fd) ? stats.size + 40 : stats.size;
      return Object.assign(Object.create(Object.getPrototypeOf(stats) as object) as fs.Stats, stats, { size });
    }) as typeof fs.fstatSync);
    const image = readStoreImage(file(), spec, codecOf);
    expect(ids(image.records)).toEqual({ a: 1 });
    expect([image.journal?.offset, image.journal?.stamp.size]).toEqual([first, first]);
    const sync = new StoreSync(file(), spec, new Map());
    sync.adopt(image);
    const [second] = appendEntries([put({ id: 'b', v: 1 })]);
    expect(sync.catchUp(codecOf, false)).toEqual({ kind: 'tail', corruptLines: 0, badRecords: 0 });
    expect(ids(sync.records)).toEqual({ a: 1, b: 1 });
    expect([sync.journal?.offset, sync.journal?.stamp.size]).toEqual([second, second]);
  });

  test('a codec failure other than a failed authentication goes up: it is never taken for a torn or corrupt line', () => {
    const failing = { openLine: () => { throw new RangeError('not a decryption failure'); } } as unknown as KeyedCodec;
    expect(() => scanLines([{ text: 'AAAA.BBBB.CCCC', end: 15 }], 0, spec, () => failing, codec.saltHex)).toThrow(RangeError);
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

  test('records the spec refuses are dropped and counted; the stamp is the file\'s; the key is asked for once', () => {
    sealed({ version: 1, sessions: [{ id: 'a', v: 1 }, { id: 'b' }, 'c', { id: 'd', v: 4 }] });
    const image = readStoreImage(file(), spec, codecOf);
    const stats = fs.statSync(file());
    expect(ids(image.records)).toEqual({ a: 1, d: 4 });
    expect(image.snapshot).toEqual({ records: [{ id: 'a', v: 1 }, { id: 'd', v: 4 }], id: readSnapshotId(file()), stamp: { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs }, badRecords: 2 });
    expect(image.badRecords).toBe(2);
    // Decoded from its bytes with the codec its prefix named (no string copy of the file): the key is asked for once.
    expect(asked).toEqual([codec.saltHex]);
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
    const missing = expect.objectContaining({ name: 'MissingKeyError', code: 'ERR_MISSING_KEY', saltHex: codec.saltHex, message: expect.stringContaining('not been derived') });
    expect(() => readStoreImage(file(), spec, underived)).toThrow(missing);
    writeSnapshot([{ id: 'a', v: 1 }]);
    const readSync = jest.spyOn(fs, 'readSync');
    const readFileSync = jest.spyOn(fs, 'readFileSync');
    expect(() => readStoreImage(file(), spec, underived)).toThrow(missing);
    // Only the prefix was read before the key was asked for, not the whole file.
    expect(readSync.mock.calls.map((call) => (call as unknown[])[3])).toEqual([80]);
    expect(readFileSync).not.toHaveBeenCalled();
  });

  test('a path that cannot be opened for another reason than absence throws its error, never reads as an empty store', () => {
    fs.symlinkSync(file(), file());
    expect(() => readStoreImage(file(), spec, codecOf)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
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
      // In call order: a descriptor number closed and opened again is open again.
      const events = [
        ...openSync.mock.results.map((result, index) => ({ at: openSync.mock.invocationCallOrder[index]!, fd: result.type === 'return' ? (result.value as number) : -1, isOpen: true })),
        ...closeSync.mock.calls.map(([fd], index) => ({ at: closeSync.mock.invocationCallOrder[index]!, fd, isOpen: false })),
      ].sort((a, b) => a.at - b.at);
      for (const { fd, isOpen } of events) if (isOpen) open.add(fd);
      else open.delete(fd);
      open.delete(-1);
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

  test('a catch-up that reads a journal tail closes it', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(id, []);
    const sync = new StoreSync(file(), spec, new Map());
    sync.catchUp(codecOf, true);
    appendEntries([put({ id: 'b', v: 1 })]);
    expect(leftOpenBy(() => expect(sync.catchUp(codecOf, false).kind).toBe('tail'))).toEqual([]);
  });

  test('short reads of a journal tail (as a network file system may return) are continued until every byte is read', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    writeJournal(id, [put({ id: 'b', v: 1 })]);
    // An old snapshot: its stamp is trusted without reading its id, so only the journal is read below.
    fs.utimesSync(file(), Date.now() / 1000 - 60, Date.now() / 1000 - 60);
    const sync = new StoreSync(file(), spec, new Map());
    sync.catchUp(codecOf, true);
    appendEntries([put({ id: 'c', v: 1 }), del('a')]);
    const { readSync } = fs;
    jest.spyOn(fs, 'readSync').mockImplementation(((fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
      readSync(fd, buffer, offset, Math.min(length, 16), position)) as typeof fs.readSync);
    expect(sync.catchUp(codecOf, false).kind).toBe('tail');
    expect([ids(sync.records), sync.journal?.offset]).toEqual([{ b: 1, c: 1 }, fs.statSync(journal()).size]);
  });
});
