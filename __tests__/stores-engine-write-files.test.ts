/**
 * The store engine's file writes at the seam (issue 16), on real files: a
 * checkpoint's temp snapshot cleaned up whichever step fails, its exact mode,
 * and the removal of a file that may already be gone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createFileSystem, nodeFileSystem, type FileSystem } from '../lib/files/fs-seam.js';
import { appendToJournal, publishTemp, removeFile, writeTemp } from '../lib/stores/store-writes.js';
import { fsError, makeTempDir, removeTempDir } from './helpers/store-harness.js';

let dir: string;
const file = (): string => path.join(dir, 'recs.enc');

beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

describe("a checkpoint's temp snapshot and a removal, at the seam (NFR-8: the original error, nothing left behind)", () => {
  /** A seam counting closes, with faults chosen per call: `faults.open` etc. throw once with that code. */
  function faultySeam(faults: { open?: string; write?: string; close?: string }): { fileSystem: Readonly<FileSystem>; closes: () => number } {
    let closes = 0;
    const fileSystem = createFileSystem({
      open: async (target, flags, mode) => {
        if (faults.open !== undefined) throw fsError(faults.open, 'open');
        return nodeFileSystem.open(target, flags, mode);
      },
      write: async (handle, data) => {
        if (faults.write !== undefined) throw fsError(faults.write, 'write');
        await nodeFileSystem.write(handle, data);
      },
      close: async (handle) => {
        closes += 1;
        // A close that fails has still released the descriptor (as close(2) does).
        await nodeFileSystem.close(handle);
        if (faults.close !== undefined && closes === 1) throw fsError(faults.close, 'close');
      },
    });
    return { fileSystem, closes: () => closes };
  }

  test.each<[string, { open?: string; write?: string; close?: string }, number, string[]]>([
    ['open fails', { open: 'EMFILE' }, 0, []],
    ['write fails', { write: 'ENOSPC' }, 1, []],
    ['write and then close fail', { write: 'ENOSPC', close: 'EIO' }, 1, ['EIO']],
    ['close fails', { close: 'EIO' }, 1, []],
  ])('a temp snapshot whose %s rejects with that code, is closed at most once and removed, cleanup failures attached', async (_, faults, closes, cleanupCodes) => {
    const seam = faultySeam(faults);
    const error: unknown = await writeTemp(seam.fileSystem, file(), 'payload', false).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({ code: faults.open ?? faults.write ?? faults.close });
    expect(seam.closes()).toBe(closes);
    expect(((error as { cleanupErrors?: { code?: string }[] }).cleanupErrors ?? []).map((cleanup) => cleanup.code)).toEqual(cleanupCodes);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a temp written whole is left unpublished beside its target, 0600 whatever the umask, until published over it', async () => {
    // A umask that takes the owner's write bit away: the mode is set exactly after the open.
    const umask = process.umask(0o277);
    let temp: string;
    try {
      temp = await writeTemp(nodeFileSystem, file(), 'payload', false);
    } finally {
      process.umask(umask);
    }
    expect(path.dirname(temp)).toBe(dir);
    expect(fs.readFileSync(temp, 'latin1')).toBe('payload');
    expect(fs.statSync(temp).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(file())).toBe(false);
    await publishTemp(nodeFileSystem, temp, file(), false);
    expect(fs.readdirSync(dir)).toEqual(['recs.enc']);
  });

  test('removing a file that is already gone resolves and, when durable, syncs no directory; another failure is rethrown', async () => {
    const synced: string[] = [];
    const fileSystem = createFileSystem({
      open: async (target, flags, mode) => {
        if (target === dir) synced.push(target);
        return nodeFileSystem.open(target, flags, mode);
      },
    });
    await removeFile(fileSystem, file(), true);
    expect(synced).toEqual([]);
    fs.writeFileSync(file(), 'x');
    await removeFile(fileSystem, file(), true);
    expect(fs.existsSync(file())).toBe(false);
    expect(synced).toEqual([dir]);
    const failing = createFileSystem({ unlink: async () => Promise.reject(fsError('EACCES', 'unlink')) });
    fs.writeFileSync(file(), 'x');
    await expect(removeFile(failing, file(), true)).rejects.toMatchObject({ code: 'EACCES' });
    expect(fs.existsSync(file())).toBe(true);
  });

  test('an append cuts a torn tail first when asked, answers the new stamp, and closes the journal even when its write fails', async () => {
    let closes = 0;
    let writeFails = false;
    const fileSystem = createFileSystem({
      write: async (handle, data) => {
        if (writeFails) throw fsError('ENOSPC', 'write');
        await nodeFileSystem.write(handle, data);
      },
      close: async (handle) => {
        closes += 1;
        await nodeFileSystem.close(handle);
      },
    });
    const journal = `${file()}.journal`;
    fs.writeFileSync(journal, 'header\ntorn');
    const stamp = await appendToJournal(fileSystem, journal, 'one\n', 7, false);
    expect(fs.readFileSync(journal, 'latin1')).toBe('header\none\n');
    expect(stamp).toEqual({ ino: fs.statSync(journal).ino, size: 11, mtimeMs: fs.statSync(journal).mtimeMs });
    await appendToJournal(fileSystem, journal, 'two\n', undefined, false);
    expect(fs.readFileSync(journal, 'latin1')).toBe('header\none\ntwo\n');
    expect(closes).toBe(2);
    writeFails = true;
    await expect(appendToJournal(fileSystem, journal, 'three\n', undefined, false)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(closes).toBe(3);
    expect(fs.readFileSync(journal, 'latin1')).toBe('header\none\ntwo\n');
  });
});
