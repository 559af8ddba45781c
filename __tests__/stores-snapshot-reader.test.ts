/**
 * How a store tells whether its file changed (issue 9 item 3): the stamp
 * (inode, size, mtime) compared field by field, the window in which an equal
 * stamp is not trusted alone, and the snapshot id read from a file's prefix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isRecentlyModified, readSnapshotId, sameStamp, type FileStamp } from '../lib/stores/snapshot-reader.js';
import { makeTempDir, removeTempDir } from './helpers/store-harness.js';

const SALT = '0123456789abcdef0123456789abcdef';
const IV = 'fedcba9876543210fedcba9876543210';

describe('file stamps (FR-3.3)', () => {
  const stamp: FileStamp = { ino: 7, size: 100, mtimeMs: 1_000 };

  test('equal when every field is equal, or when neither file exists', () => {
    expect(sameStamp(stamp, { ...stamp })).toBe(true);
    expect(sameStamp(undefined, undefined)).toBe(true);
  });

  test.each<[string, FileStamp | undefined, FileStamp | undefined]>([
    ['another inode', stamp, { ...stamp, ino: 8 }],
    ['another size', stamp, { ...stamp, size: 101 }],
    ['another mtime', stamp, { ...stamp, mtimeMs: 1_001 }],
    ['a file that appeared', undefined, stamp],
    ['a file that vanished', stamp, undefined],
  ])('different with %s', (_, a, b) => {
    expect(sameStamp(a, b)).toBe(false);
  });

  test('an equal stamp is doubted for 2 s around its mtime, either way (a clock a little ahead or behind)', () => {
    const now = 5_000_000;
    jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      const at = (mtimeMs: number): boolean => isRecentlyModified({ ino: 1, size: 1, mtimeMs });
      expect([at(now), at(now - 1_999), at(now - 2_000), at(now - 60_000)]).toEqual([true, true, false, false]);
      expect([at(now + 1_999), at(now + 2_000)]).toEqual([true, false]);
    } finally {
      jest.restoreAllMocks();
    }
  });
});

describe('the snapshot id on disk (FR-1.1: which snapshot a journal continues)', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeTempDir(dir));

  test('the payload IV from the file\'s first bytes; none for a missing file or one that is not a payload', () => {
    const file = path.join(dir, 'store.enc');
    expect(readSnapshotId(file)).toBeUndefined();
    fs.writeFileSync(file, `\n ${SALT}:${IV}:${'0'.repeat(200)}`);
    expect(readSnapshotId(file)).toBe(IV);
    fs.writeFileSync(file, `${SALT}:${IV.toUpperCase()}:rest`);
    expect(readSnapshotId(file)).toBeUndefined();
    fs.writeFileSync(file, `x${SALT}:${IV}:rest`);
    expect(readSnapshotId(file)).toBeUndefined();
    fs.writeFileSync(file, '');
    expect(readSnapshotId(file)).toBeUndefined();
  });

  test('a path that cannot be opened for another reason than absence throws its error', () => {
    const loop = path.join(dir, 'loop.enc');
    fs.symlinkSync(loop, loop);
    expect(() => readSnapshotId(loop)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  });
});
