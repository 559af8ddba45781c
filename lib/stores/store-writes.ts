/**
 * The store engine's writes, all through the service's file-system seam:
 * appending one journal line, publishing a whole file atomically, and the
 * two halves of a checkpoint's snapshot (write a temp now, rename later).
 */
import path from 'node:path';
import { FILE_MODE, syncDirectory, writeFileAtomic } from '../files/atomic-write.js';
import { attachCleanupError } from '../files/cleanup-error.js';
import type { FileHandle, FileSystem } from '../files/fs-seam.js';
import { tempPathFor } from '../files/temp-name.js';
import { stampOf, type FileStamp } from './snapshot-reader.js';

/**
 * Every text written here is ASCII (a header, hex payloads, base64 lines): one byte per
 * character, so journal offsets counted in characters are byte offsets.
 */
const bytesOf = (text: string): Buffer =>
  // Stryker disable next-line StringLiteral: equivalent, an empty encoding is UTF-8, the same bytes for ASCII.
  Buffer.from(text, 'latin1');

/**
 * Appends `text` (whole lines) to an existing journal with one write call,
 * after cutting a torn tail at `truncateTo`, then fsyncs. Resolves with the
 * journal's stamp after the append.
 */
export async function appendToJournal(fs: FileSystem, journalPath: string, text: string, truncateTo: number | undefined, isDurable: boolean): Promise<FileStamp> {
  const handle = await fs.open(journalPath, 'a');
  try {
    if (truncateTo !== undefined) await handle.truncate(truncateTo);
    await fs.write(handle, bytesOf(text));
    if (isDurable) await fs.fsync(handle);
    return stampOf(await handle.stat());
  } finally {
    await fs.close(handle);
  }
}

/** Replaces (or creates) `target` with `text` atomically and durably; resolves with the new file's stamp. */
export async function publishFile(fs: FileSystem, target: string, text: string, isDurable: boolean): Promise<void> {
  await writeFileAtomic(fs, target, bytesOf(text), { durable: isDurable });
}

/** Writes `text` to a fresh temp file beside `target` (fsynced when durable) and returns its path, unpublished. */
export async function writeTemp(fs: FileSystem, target: string, text: string, isDurable: boolean): Promise<string> {
  const temp = tempPathFor(target);
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx', FILE_MODE);
    await fs.chmod(handle, FILE_MODE);
    await fs.write(handle, bytesOf(text));
    if (isDurable) await fs.fsync(handle);
    const written = handle;
    handle = undefined;
    await fs.close(written);
    return temp;
  } catch (error) {
    if (handle !== undefined) await fs.close(handle).catch((cleanupError: unknown) => attachCleanupError(error, cleanupError));
    await fs.unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** Renames a temp file written by writeTemp over `target` and fsyncs the directory. */
export async function publishTemp(fs: FileSystem, temp: string, target: string, isDurable: boolean): Promise<void> {
  await fs.rename(temp, target);
  if (isDurable) await syncDirectory(fs, path.dirname(target));
}

/** Removes a file that may already be gone; fsyncs the directory when durable. */
export async function removeFile(fs: FileSystem, target: string, isDurable: boolean): Promise<void> {
  try {
    await fs.unlink(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return;
  }
  if (isDurable) await syncDirectory(fs, path.dirname(target));
}
