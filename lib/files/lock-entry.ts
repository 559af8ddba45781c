/**
 * The on-disk lock entry `<target>.lock`: a small file holding its owner
 * record, created atomically WITH that record (temp file, then `link`, which
 * fails with EEXIST when the entry exists) and kept fresh by its mtime. A
 * stale entry is replaced (never deleted by name) by the holder of the
 * takeover sub-lock: see takeover-lock.ts.
 */
import { hostname } from 'node:os';
import { FILE_MODE, publishTempFile } from './atomic-write.js';
import { errorCode, type FileSystem } from './fs-seam.js';
import { ProcessLockError } from './lock-errors.js';
import { siblingPath } from './sibling-name.js';
import { tempPathFor } from './temp-name.js';

/** Who holds a lock entry. `token` is random per acquisition; pid and host are for people reading the file. */
export interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly token: string;
  readonly createdAt: number;
}

/** A lock entry as seen at one moment: its raw record and its heartbeat time. */
export interface EntrySnapshot {
  readonly content: string;
  readonly mtimeMs: number;
}

/** How many times in a row a create may lose its own temp file (a foreign sweep) before the error is reported. */
const VANISHED_TEMP_RETRIES = 3;

/** The lock entry of a (canonical) target path: `<target>.lock`, shortened when the name would be too long. */
export function lockPathFor(target: string): string {
  return siblingPath(target, '.lock');
}

/** A fresh owner record for this process. */
export function newOwner(token: string, nowMs: number): LockOwner {
  return { pid: process.pid, hostname: hostname(), token, createdAt: nowMs };
}

/** The owner record in `content`, or undefined when it is not one (a foreign or damaged file). */
export function parseOwner(content: string): LockOwner | undefined {
  try {
    // No object check needed: null throws on destructuring (caught below), any other value has none of the fields.
    const { pid, hostname: host, token, createdAt } = JSON.parse(content) as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string' || typeof token !== 'string' || typeof createdAt !== 'number') return undefined;
    return { pid, hostname: host, token, createdAt };
  } catch {
    return undefined;
  }
}

/**
 * Creates the entry holding `content`, or returns false when it exists. The
 * record is complete before the name appears, so no reader ever sees an empty
 * entry. Its mtime is then set from this process's clock, the clock every
 * staleness judgement uses. A link failing with ENOENT means our own temp
 * file vanished between its write and the link (a sweep in another PID
 * namespace on an older build, or a person): the create is simply redone.
 */
export async function createEntry(fs: FileSystem, lockPath: string, content: string, nowMs: number): Promise<boolean> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      // The entry needs no fsync (after a power loss it is stale anyway); a directory it creates does.
      await publishTempFile(fs, lockPath, Buffer.from(content), 'link', false, true);
      break;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      if (errorCode(error) !== 'ENOENT' || attempt >= VANISHED_TEMP_RETRIES) throw error;
    }
  }
  // Best effort: the file system's own fresh mtime is nearly the same, and the heartbeat sets it again.
  await fs.utimes(lockPath, nowMs).catch(() => undefined);
  return true;
}

/**
 * Writes `content` to a fresh temp file beside the entry and returns its
 * path: the takeover prepares its own entry BEFORE it holds the sub-lock, so
 * that the sub-lock is held only for a read and a rename.
 */
export async function prepareEntry(fs: FileSystem, lockPath: string, content: string): Promise<string> {
  const temp = tempPathFor(lockPath);
  const handle = await fs.open(temp, 'wx', FILE_MODE);
  try {
    await fs.write(handle, Buffer.from(content));
  } catch (error) {
    await fs.close(handle).catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    throw error;
  }
  await fs.close(handle);
  return temp;
}

/** The error for something at the lock path that no acquirer made (a directory, a symlink, a FIFO). */
export function invalidEntryError(lockPath: string): ProcessLockError {
  return new ProcessLockError('ERR_LOCK_ENTRY_INVALID', `the lock entry ${JSON.stringify(lockPath)} is not a regular file; remove it by hand`, { lockPath });
}

/**
 * The entry at `file` with its heartbeat time, or undefined when there is
 * none. Anything but a regular file there (lstat) is ERR_LOCK_ENTRY_INVALID:
 * no acquirer makes one, and waiting for it to change would wait forever.
 */
export async function readEntry(fs: FileSystem, file: string): Promise<EntrySnapshot | undefined> {
  try {
    // stat before read: if the entry is replaced in between, the record is the newer one and the
    // time the older one, which can only make a takeover see a changed entry, never a wrong one.
    const stats = await fs.stat(file);
    if (stats.isFile?.() === false) throw invalidEntryError(file);
    return { content: await fs.readFile(file), mtimeMs: stats.mtimeMs };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    // A seam without isFile: a directory shows up here.
    if (errorCode(error) === 'EISDIR') throw invalidEntryError(file);
    throw error;
  }
}

/** The record in the entry at `file`, or undefined when there is none. */
export async function readRecord(fs: FileSystem, file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

