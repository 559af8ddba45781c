/**
 * The two locks every read-merge-write, load, rotation, revocation and
 * checkpoint of a store file runs under: the service's in-process queue for
 * the file (so callers in this process keep their order, and plain
 * encryptToFile/decryptFromFile calls on the file wait), then the
 * cross-process lock `<file>.lock` (so other service instances, in this
 * process or another, wait). Never nest: the queue is not reentrant.
 */
import path from 'node:path';
import type { ServiceInternals } from '../encryption/service-internals.js';
import { DIRECTORY_MODE } from '../files/atomic-write.js';
import { errorCode } from '../files/fs-seam.js';
import { withProcessLock, type HeldLock } from '../files/process-lock.js';

/** Runs `fn` under both locks of the file, with its canonical path and the held cross-process lock (for `assertHeld()`). */
export function withStoreLock<T>(internals: ServiceInternals, filePath: string, fn: (canonical: string, lock: HeldLock) => Promise<T>): Promise<T> {
  return internals.runLocked(filePath, async (canonical) => {
    // The lock entry lives beside the file: its directory must exist (once per directory is enough).
    if (!madeDirectories.has(path.dirname(canonical))) {
      // EEXIST: a regular file where the directory should be; the lock's own open reports ENOTDIR.
      await internals.fileSystem.mkdir(path.dirname(canonical), DIRECTORY_MODE).catch((error: unknown) => {
        if (errorCode(error) !== 'EEXIST') throw error;
      });
      madeDirectories.add(path.dirname(canonical));
    }
    // The lock works on the real file system: the service's seam is for faults in the store's own reads and writes.
    return withProcessLock(canonical, (lock) => fn(canonical, lock));
  });
}

const madeDirectories = new Set<string>();
