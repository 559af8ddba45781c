/**
 * Issue 3, behaviour 5: durable atomic writes. Faults are injected through
 * the file-system seam (one operation, one instance) on the real file
 * system: the caller gets the original error and code, the previous file is
 * intact, no temp file remains, and the next save succeeds (NFR-6, NFR-8).
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { faultySeam, tempFilesIn, type FaultyOperation, siblingKeyFile } from './fixtures/encryption/helpers.js';
import { fsError, makeTempDir, removeTempDir } from './helpers/common.js';

let dir: string;
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

const modeOf = (file: string): number => fs.statSync(file).mode & 0o777;

async function faultyService(options: { durable?: boolean } = {}): Promise<{ service: EncryptionService; seam: ReturnType<typeof faultySeam> }> {
  const seam = faultySeam();
  const service = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k'), ...options }, { fileSystem: seam.fileSystem });
  await service.initialize();
  return { service, seam };
}

describe('NFR-8: a failed save leaves the previous file, no temp file, and the original error', () => {
  test.each<[FaultyOperation, string, string]>([
    ['open', 'EMFILE', 'too many open files when creating the temp file'],
    ['write', 'ENOSPC', 'a full disk while writing'],
    ['fsync', 'EIO', 'an I/O error on fsync of the temp file'],
    ['rename', 'EPERM', 'a refused rename'],
    ['rename', 'EXDEV', 'a cross-device rename'],
    ['chmod', 'EPERM', 'a refused chmod'],
  ])('%s fails with %s (%s)', async (operation, code) => {
    const { service, seam } = await faultyService();
    const file = path.join(dir, 'sessions.enc');
    await service.encryptToFile('previous', file);
    const before = fs.readFileSync(file, 'utf8');
    const fault = fsError(code, operation);
    seam.arm(operation, fault);
    const failure = await service.encryptToFile('lost', file).catch((error: unknown) => error);
    expect(failure).toBe(fault);
    expect(failure).toMatchObject({ code });
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(await service.decryptFromFile(file)).toBe('previous');
    expect(tempFilesIn(dir)).toEqual([]);
    await service.encryptToFile('next', file);
    expect(await service.decryptFromFile(file)).toBe('next');
    expect(tempFilesIn(dir)).toEqual([]);
    expect(service.hasPendingWrites()).toBe(false);
  });

  test('a write that stores part of the data and then fails with ENOSPC leaves the previous file whole', async () => {
    const seam = faultySeam();
    const partial = fsError('ENOSPC', 'write');
    const service = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k') }, {
      fileSystem: {
        ...seam.fileSystem,
        write: async (handle, data) => {
          if (data.length > 1000) {
            await seam.fileSystem.write(handle, data.subarray(0, 512));
            throw partial;
          }
          return seam.fileSystem.write(handle, data);
        },
      },
    });
    await service.initialize();
    const file = path.join(dir, 'sessions.enc');
    await service.encryptToFile('small', file);
    await expect(service.encryptToFile('x'.repeat(5000), file)).rejects.toBe(partial);
    expect(await service.decryptFromFile(file)).toBe('small');
    expect(tempFilesIn(dir)).toEqual([]);
  });

  test('a close that reports EIO (after releasing the descriptor) fails the save and removes the temp file', async () => {
    const { service, seam } = await faultyService();
    const file = path.join(dir, 'sessions.enc');
    await service.encryptToFile('previous', file);
    seam.arm('close', fsError('EIO', 'close'), { afterRealCall: true });
    await expect(service.encryptToFile('lost', file)).rejects.toMatchObject({ code: 'EIO' });
    expect(await service.decryptFromFile(file)).toBe('previous');
    expect(tempFilesIn(dir)).toEqual([]);
    // Two closes for the first save (temp file, directory), one for the failed one: never closed twice.
    expect(seam.calls.get('close')).toBe(3);
  });

  test('when the cleanup fails too, the original error wins and the cleanup error is attached', async () => {
    const { service, seam } = await faultyService();
    const file = path.join(dir, 'sessions.enc');
    await service.encryptToFile('previous', file);
    const renameError = fsError('EXDEV', 'rename');
    const unlinkError = fsError('EBUSY', 'unlink');
    seam.arm('rename', renameError);
    seam.arm('unlink', unlinkError);
    const failure = await service.encryptToFile('lost', file).catch((error: unknown) => error);
    expect(failure).toBe(renameError);
    expect((failure as { cleanupErrors?: unknown[] }).cleanupErrors).toEqual([unlinkError]);
    expect(Object.keys(failure as object)).not.toContain('cleanupErrors');
    expect(await service.decryptFromFile(file)).toBe('previous');
    expect(tempFilesIn(dir)).toHaveLength(1);
  });

  test('a failed directory fsync after the rename rejects with its code; the new content is already in place', async () => {
    let fsyncs = 0;
    const seam = faultySeam();
    const service = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k') }, {
      fileSystem: {
        ...seam.fileSystem,
        // The second fsync of a save is the directory's, after the rename.
        fsync: async (handle) => {
          fsyncs += 1;
          if (fsyncs === 4) throw fsError('EIO', 'fsync');
          return seam.fileSystem.fsync(handle);
        },
      },
    });
    await service.initialize();
    const file = path.join(dir, 'sessions.enc');
    await service.encryptToFile('previous', file);
    await expect(service.encryptToFile('new', file)).rejects.toMatchObject({ code: 'EIO' });
    expect(fsyncs).toBe(4);
    expect(await service.decryptFromFile(file)).toBe('new');
    expect(tempFilesIn(dir)).toEqual([]);
    expect(seam.calls.get('close')).toBe(4);
  });

  test('a target that is a directory rejects with EISDIR and leaves no temp file', async () => {
    const { service } = await faultyService();
    const target = path.join(dir, 'sessions.enc');
    fs.mkdirSync(target);
    await expect(service.encryptToFile('x', target)).rejects.toMatchObject({ code: 'EISDIR' });
    expect(tempFilesIn(dir)).toEqual([]);
  });

  test('a target under a regular file rejects with ENOTDIR', async () => {
    const { service } = await faultyService();
    fs.writeFileSync(path.join(dir, 'plain'), 'not a directory');
    await expect(service.encryptToFile('x', path.join(dir, 'plain', 'sessions.enc'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(fs.readFileSync(path.join(dir, 'plain'), 'utf8')).toBe('not a directory');
  });
});

describe('FR-1: durability and modes', () => {
  test('durable (the default) fsyncs the file and its directory; durable: false fsyncs nothing', async () => {
    const durable = await faultyService();
    await durable.service.encryptToFile('x', path.join(dir, 'a.enc'));
    expect(durable.seam.calls.get('fsync')).toBe(2);
    expect(durable.seam.calls.get('rename')).toBe(1);
    const fast = await faultyService({ durable: false });
    await fast.service.encryptToFile('x', path.join(dir, 'b.enc'));
    expect(fast.seam.calls.get('fsync')).toBeUndefined();
    expect(await fast.service.decryptFromFile(path.join(dir, 'b.enc'))).toBe('x');
  });

  test('a missing target directory is created 0700, parents included', async () => {
    const { service } = await faultyService();
    const file = path.join(dir, 'a', 'b', 'sessions.enc');
    await service.encryptToFile('x', file);
    expect(modeOf(path.join(dir, 'a'))).toBe(0o700);
    expect(modeOf(path.join(dir, 'a', 'b'))).toBe(0o700);
    expect(await service.decryptFromFile(file)).toBe('x');
  });

  test('the file is 0600 whatever the umask, also when it replaces a 0644 file', async () => {
    const { service } = await faultyService();
    const file = path.join(dir, 'sessions.enc');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    const previousUmask = process.umask(0o277);
    try {
      await service.encryptToFile('x', file);
    } finally {
      process.umask(previousUmask);
    }
    expect(modeOf(file)).toBe(0o600);
    expect(await service.decryptFromFile(file)).toBe('x');
  });

  test('temp files are unique per save, in the target directory, named <file>.<pid>.<counter>.<random>.tmp', async () => {
    const names: string[] = [];
    const seam = faultySeam();
    const service = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k'), durable: false }, {
      fileSystem: {
        ...seam.fileSystem,
        open: (file, flags, mode) => {
          names.push(file);
          return seam.fileSystem.open(file, flags, mode);
        },
      },
    });
    await service.initialize();
    const file = path.join(dir, 'sessions.enc');
    await Promise.all([service.encryptToFile('1', file), service.encryptToFile('2', file)]);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    for (const name of names) {
      expect(path.dirname(name)).toBe(fs.realpathSync(dir));
      expect(path.basename(name)).toMatch(new RegExp(`^sessions\\.enc\\.${process.pid}\\.\\d+\\.[0-9a-f]{12}\\.tmp$`));
    }
  });
});
