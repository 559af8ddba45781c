/**
 * Short reads (FR-3.1, FR-3.3): `fs.readSync` may return fewer bytes than
 * asked before the end of a file (network and FUSE file systems do). Here a
 * spy on `fs.readSync` passes every call to the real one, capped at a few
 * bytes, on real files: every reader must still see whole files, and a
 * journal that continues its snapshot must still be replayed, not set aside
 * as stale (which would drop acknowledged changes from the loaded store).
 */
import fs from 'node:fs';
import { readFullySync } from '../lib/files/read-fully.js';
import { readStoreImage } from '../lib/stores/store-image.js';
import { readSnapshot, readSnapshotId } from '../lib/stores/snapshot-reader.js';
import { del, ids, put, spec, useEngineFiles } from './helpers/engine-files.js';

const { file, codecOf, writeSnapshot, writeJournal, appendEntries } = useEngineFiles();

/** Caps every `fs.readSync` at `cap` bytes; returns the calls seen (restored after each test by the helper). */
function shortReads(cap: number): jest.SpyInstance {
  const real = fs.readSync.bind(fs) as (fd: number, buffer: Buffer, offset: number, length: number, position: number) => number;
  return jest
    .spyOn(fs, 'readSync')
    .mockImplementation(((fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
      real(fd, buffer, offset, Math.min(length, cap), position)) as typeof fs.readSync);
}

describe('readFullySync (FR-3.3)', () => {
  test('fills the buffer over as many short reads as it takes, from the given position', () => {
    fs.writeFileSync(file(), 'abcdefghijklmnopqrstuvwxyz');
    const calls = shortReads(3);
    const fd = fs.openSync(file(), 'r');
    try {
      const into = Buffer.alloc(10);
      expect(readFullySync(fd, into, 5)).toBe(10);
      expect(into.toString()).toBe('fghijklmno');
      expect(calls).toHaveBeenCalledTimes(4);
    } finally {
      fs.closeSync(fd);
    }
  });

  test('stops at the end of the file and says how much it read', () => {
    fs.writeFileSync(file(), 'abcdefg');
    shortReads(2);
    const fd = fs.openSync(file(), 'r');
    try {
      const into = Buffer.alloc(10);
      expect(readFullySync(fd, into, 3)).toBe(4);
      expect(into.subarray(0, 4).toString()).toBe('defg');
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('store files read through short reads (FR-3.1, FR-3.3)', () => {
  test('the snapshot id is read whole', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }]);
    shortReads(7);
    expect(readSnapshotId(file())).toBe(id);
  });

  test('a snapshot reads whole: its id and records', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }, { id: 'b', v: 2 }]);
    shortReads(7);
    const image = readSnapshot(file(), spec, codecOf);
    expect(image.id).toBe(id);
    expect(image.problem).toBeUndefined();
    expect(image.records).toEqual([{ id: 'a', v: 1 }, { id: 'b', v: 2 }]);
  });

  test('a journal that continues its snapshot is replayed, not set aside as stale', () => {
    const id = writeSnapshot([{ id: 'a', v: 1 }, { id: 'b', v: 1 }]);
    writeJournal(id, [put({ id: 'a', v: 2 })]);
    const ends = appendEntries([del('b'), put({ id: 'c', v: 3 })]);
    shortReads(5);
    const image = readStoreImage(file(), spec, codecOf);
    expect(image.journalState).toBeUndefined();
    expect(ids(image.records)).toEqual({ a: 2, c: 3 });
    expect(image.journal?.offset).toBe(ends[1]);
  });
});
