/**
 * Durable atomic replacement of a file: a reader sees the old content or the
 * new, never a torn or empty file, and after a crash the target is one of
 * the two. Modelled on write-file-atomic, plus the directory fsync.
 */
import path from 'node:path';
import { attachCleanupError } from './cleanup-error.js';
import { errorCode, type FileHandle, type FileSystem } from './fs-seam.js';
import { tempPathFor } from './temp-name.js';

/** Mode of every file the library writes: owner read/write only. */
export const FILE_MODE = 0o600;
/** Mode of every directory the library creates (less any owner bits the umask removes). */
export const DIRECTORY_MODE = 0o700;

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** fsync the file before the rename and the directory after it. Default true. */
  durable?: boolean;
}

/**
 * Replaces `target` with `data`: unique temp file beside it (`wx`, 0600),
 * write, fsync, close, rename, fsync the directory. On a failure up to the
 * rename the temp file is closed and removed, the target is untouched, and
 * the original error is rethrown with its `code`; cleanup failures ride along
 * on `cleanupErrors`. Hazard: when only the final directory fsync fails, the
 * error is thrown but the new content is already in place (not yet durable).
 * The directory is created (0700, with missing parents) when absent.
 */
export async function writeFileAtomic(fs: FileSystem, target: string, data: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  await publishTempFile(fs, target, data, 'rename', options.durable ?? true);
}

/**
 * Writes `data` to a fresh temp file beside `target`, then publishes it:
 * 'rename' replaces the target; 'link' creates it exclusively (EEXIST when it
 * exists) and then drops the temp name. When durable, the file is fsynced
 * before and its directory after. Directories it has to create get their
 * parents fsynced when `isDirectoryDurable` (default: `isDurable`). Any
 * failure before the publish removes the temp file and rethrows the original error.
 */
export async function publishTempFile(
  fs: FileSystem,
  target: string,
  data: Uint8Array,
  how: 'rename' | 'link',
  isDurable: boolean,
  isDirectoryDurable = isDurable,
): Promise<void> {
  const temp = tempPathFor(target);
  let handle: FileHandle | undefined = await openExclusive(fs, temp, isDirectoryDurable);
  try {
    await fs.chmod(handle, FILE_MODE);
    await fs.write(handle, data);
    if (isDurable) await fs.fsync(handle);
    const written = handle;
    // Cleared first: a close that fails has still released the descriptor, so never close twice.
    handle = undefined;
    await fs.close(written);
    if (how === 'rename') await fs.rename(temp, target);
    else await fs.link(temp, target);
  } catch (error) {
    if (handle !== undefined) await fs.close(handle).catch((cleanupError: unknown) => attachCleanupError(error, cleanupError));
    await fs.unlink(temp).catch((cleanupError: unknown) => attachCleanupError(error, cleanupError));
    throw error;
  }
  // The target is published; a leftover second name holds the same bytes under the same 0600 mode and
  // is swept once this process is gone, so failing here would only hide a success.
  if (how === 'link') await fs.unlink(temp).catch(() => undefined);
  if (isDurable) await syncDirectory(fs, path.dirname(target));
}

/** Creates `file` with `wx` and 0600, creating its directory on ENOENT. */
async function openExclusive(fs: FileSystem, file: string, isDirectoryDurable: boolean): Promise<FileHandle> {
  try {
    return await fs.open(file, 'wx', FILE_MODE);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    await makeDirectory(fs, path.dirname(file), isDirectoryDurable);
    return await fs.open(file, 'wx', FILE_MODE);
  }
}

/**
 * Creates `directory` with its missing parents (0700). When durable, fsyncs
 * the parent of each directory it created: a new directory's entry lives in
 * its parent, and without that fsync a power loss can take the directory
 * (with the key and data written into it) away again.
 */
export async function makeDirectory(fs: FileSystem, directory: string, isDurable: boolean): Promise<void> {
  const first = await fs.mkdir(directory, DIRECTORY_MODE);
  // undefined: it existed already (another process made it, and owes the fsync) or a seam does not say.
  if (!isDurable || typeof first !== 'string') return;
  for (let created = directory; ; created = path.dirname(created)) {
    await syncDirectory(fs, path.dirname(created));
    if (created === first || path.dirname(created) === created) return;
  }
}

/** Codes with which a file system says it cannot fsync a directory; durability there is not ours to give. */
const DIRECTORY_SYNC_UNSUPPORTED: ReadonlySet<string | undefined> = new Set(['EINVAL', 'ENOTSUP', 'EISDIR']);

/** fsync of a directory, so a completed rename survives a power loss. */
export async function syncDirectory(fs: FileSystem, directory: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await fs.open(directory, 'r');
  } catch (error) {
    if (DIRECTORY_SYNC_UNSUPPORTED.has(errorCode(error))) return;
    throw error;
  }
  try {
    await fs.fsync(handle);
  } catch (error) {
    await fs.close(handle).catch((cleanupError: unknown) => attachCleanupError(error, cleanupError));
    if (DIRECTORY_SYNC_UNSUPPORTED.has(errorCode(error))) return;
    throw error;
  }
  await fs.close(handle);
}
