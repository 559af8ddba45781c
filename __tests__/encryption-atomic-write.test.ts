/**
 * writeFileAtomic and syncDirectory on their own, through a FileSystem seam
 * built per test over the real file system: the defaults, and the cleanup
 * and directory-fsync paths that a service-level fault cannot reach (FR-1,
 * NFR-8).
 */
import fs from 'node:fs';
import path from 'node:path';
import { syncDirectory, writeFileAtomic } from '../lib/files/atomic-write.js';
import { nodeFileSystem, type FileHandle, type FileSystem } from '../lib/files/fs-seam.js';
import { fsError, makeTempDir, removeTempDir } from './helpers/common.js';

let dir: string;
let target: string;
beforeEach(() => {
  dir = makeTempDir();
  target = path.join(dir, 'store.enc');
});
afterEach(() => removeTempDir(dir));

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const tempFiles = (): string[] => fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'));

/** The real file system, counting fsyncs, with the directory handle's fsync, open or close failing on demand. */
function directorySeam(faults: { open?: Error; fsync?: Error; close?: Error } = {}): { fileSystem: FileSystem; fsyncs: () => number } {
  const directoryHandles = new Set<FileHandle>();
  let fsyncs = 0;
  const fileSystem: FileSystem = {
    ...nodeFileSystem,
    open: async (file, flags, mode) => {
      if (flags === 'r' && faults.open !== undefined) throw faults.open;
      const handle = await nodeFileSystem.open(file, flags, mode);
      if (flags === 'r') directoryHandles.add(handle);
      return handle;
    },
    fsync: async (handle) => {
      fsyncs += 1;
      if (directoryHandles.has(handle) && faults.fsync !== undefined) throw faults.fsync;
      await nodeFileSystem.fsync(handle);
    },
    close: async (handle) => {
      await nodeFileSystem.close(handle);
      if (directoryHandles.has(handle) && faults.close !== undefined) throw faults.close;
    },
  };
  return { fileSystem, fsyncs: () => fsyncs };
}

/** The real file system with one operation on the temp file failing, and its close failing too. */
function failingWithClose(op: 'chmod' | 'write' | 'fsync', error: Error, closeError: Error): FileSystem {
  return {
    ...nodeFileSystem,
    [op]: () => Promise.reject(error),
    close: async (handle: FileHandle) => {
      await nodeFileSystem.close(handle);
      throw closeError;
    },
  };
}

describe('FR-1: writeFileAtomic defaults', () => {
  test('without options it is durable: the file and its directory are fsynced', async () => {
    const seam = directorySeam();
    await writeFileAtomic(seam.fileSystem, target, bytes('v1'));
    expect(seam.fsyncs()).toBe(2);
    expect(fs.readFileSync(target, 'utf8')).toBe('v1');
  });

  test('a rename publish removes nothing afterwards: the temp name is already gone', async () => {
    const unlinked: string[] = [];
    const fileSystem: FileSystem = {
      ...nodeFileSystem,
      unlink: async (file) => {
        unlinked.push(file);
        await nodeFileSystem.unlink(file);
      },
    };
    await writeFileAtomic(fileSystem, target, bytes('v1'));
    expect(unlinked).toEqual([]);
    expect(tempFiles()).toEqual([]);
  });

  test('durable: false fsyncs nothing', async () => {
    const seam = directorySeam();
    await writeFileAtomic(seam.fileSystem, target, bytes('v1'), { durable: false });
    expect(seam.fsyncs()).toBe(0);
  });
});

describe('FR-1: directories the write has to create', () => {
  test('a directory another process created first is not fsynced into its parent by us (its creator owes that)', async () => {
    const nested = path.join(dir, 'new');
    const synced: string[] = [];
    const fileSystem: FileSystem = {
      ...nodeFileSystem,
      open: async (file, flags, mode) => {
        if (flags === 'r') synced.push(file);
        return nodeFileSystem.open(file, flags, mode);
      },
      mkdir: async (directory, mode) => {
        fs.mkdirSync(directory); // the other process wins the race
        return nodeFileSystem.mkdir(directory, mode);
      },
    };
    await writeFileAtomic(fileSystem, path.join(nested, 'a.enc'), bytes('v1'));
    expect(synced).toEqual([nested]); // only the final fsync of the target's own directory
    expect(fs.readFileSync(path.join(nested, 'a.enc'), 'utf8')).toBe('v1');
  });
});

describe('NFR-8: when the temp file fails and so does its close', () => {
  test.each(['chmod', 'write', 'fsync'] as const)('a failed %s rejects with its own error; the close error rides on cleanupErrors', async (op) => {
    fs.writeFileSync(target, 'old');
    const error = fsError('EIO', op);
    const closeError = fsError('EBADF', 'close');
    const failure = await writeFileAtomic(failingWithClose(op, error, closeError), target, bytes('new')).catch((caught: unknown) => caught);
    expect(failure).toBe(error);
    expect((failure as { cleanupErrors?: unknown[] }).cleanupErrors).toEqual([closeError]);
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(tempFiles()).toEqual([]);
  });
});

describe('FR-1: the directory fsync after the rename', () => {
  test.each(['EINVAL', 'ENOTSUP', 'EISDIR'])('a directory fsync failing with %s means "not supported here": the save succeeds', async (code) => {
    const seam = directorySeam({ fsync: fsError(code, 'fsync') });
    await expect(writeFileAtomic(seam.fileSystem, target, bytes('v1'))).resolves.toBeUndefined();
    expect(fs.readFileSync(target, 'utf8')).toBe('v1');
  });

  test('any other directory fsync failure rejects with its code, the close error riding along; the content is in place', async () => {
    const error = fsError('EIO', 'fsync');
    const closeError = fsError('EBADF', 'close');
    const seam = directorySeam({ fsync: error, close: closeError });
    const failure = await writeFileAtomic(seam.fileSystem, target, bytes('v1')).catch((caught: unknown) => caught);
    expect(failure).toBe(error);
    expect(failure).toMatchObject({ code: 'EIO' });
    expect((failure as { cleanupErrors?: unknown[] }).cleanupErrors).toEqual([closeError]);
    expect(fs.readFileSync(target, 'utf8')).toBe('v1');
  });

  test.each(['EINVAL', 'ENOTSUP', 'EISDIR'])('a directory that cannot be opened for fsync (%s) is skipped', async (code) => {
    const seam = directorySeam({ open: fsError(code, 'open') });
    await expect(syncDirectory(seam.fileSystem, dir)).resolves.toBeUndefined();
    expect(seam.fsyncs()).toBe(0);
  });

  test('a directory that cannot be opened for another reason rejects with that error', async () => {
    const error = fsError('EACCES', 'open');
    const seam = directorySeam({ open: error });
    await expect(writeFileAtomic(seam.fileSystem, target, bytes('v1'))).rejects.toBe(error);
    expect(fs.readFileSync(target, 'utf8')).toBe('v1');
  });

  test.each(['open', 'fsync'] as const)('a directory %s failing with an error that has no code rejects with it', async (op) => {
    const error = new Error('no code');
    const seam = directorySeam({ [op]: error });
    await expect(syncDirectory(seam.fileSystem, dir)).rejects.toBe(error);
  });

  test('a successful directory fsync closes the directory handle', async () => {
    const closed: FileHandle[] = [];
    const seam = directorySeam();
    const fileSystem: FileSystem = {
      ...seam.fileSystem,
      close: async (handle) => {
        closed.push(handle);
        await seam.fileSystem.close(handle);
      },
    };
    await syncDirectory(fileSystem, dir);
    expect(closed).toHaveLength(1);
    expect(seam.fsyncs()).toBe(1);
  });
});
