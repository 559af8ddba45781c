/**
 * The on-disk lock entry `<target>.lock`: a small file holding its owner
 * record, created atomically WITH that record (temp file, then `link`, which
 * fails with EEXIST when the entry exists), kept fresh by its mtime, and
 * removed only through a claim that first moves it to a unique name and then
 * checks that what it moved is what it meant to remove.
 */
import { hostname } from 'node:os';
import { publishTempFile } from './atomic-write.js';
import { errorCode, type FileSystem } from './fs-seam.js';
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
    const value: unknown = JSON.parse(content);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname: host, token, createdAt } = value as Record<string, unknown>;
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
 * staleness judgement uses.
 */
export async function createEntry(fs: FileSystem, lockPath: string, content: string, nowMs: number): Promise<boolean> {
  try {
    // The entry needs no fsync (after a power loss it is stale anyway); a directory it creates does.
    await publishTempFile(fs, lockPath, Buffer.from(content), 'link', false, true);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
  // Best effort: the file system's own fresh mtime is nearly the same, and the heartbeat sets it again.
  await fs.utimes(lockPath, nowMs).catch(() => undefined);
  return true;
}

/** The entry at `file` with its heartbeat time, or undefined when there is none. */
export async function readEntry(fs: FileSystem, file: string): Promise<EntrySnapshot | undefined> {
  try {
    // stat before read: if the entry is replaced in between, the record is the newer one and the
    // time the older one, which can only make a claim fail its check, never succeed wrongly.
    const { mtimeMs } = await fs.stat(file);
    return { content: await fs.readFile(file), mtimeMs };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
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

/** What a claim did: removed the entry, found none, put back a foreign one, or could not put it back. */
export type ClaimOutcome = 'removed' | 'absent' | 'restored' | 'displaced';

/**
 * Removes the entry only if it still holds the record `expected` (and, with
 * `staleMs`, is still older than that on this process's clock). Deleting by name
 * after a check is the classic stale-lock race (the name may by then be
 * another holder's fresh entry), so the entry is first renamed to a unique
 * name: the rename moves exactly one inode, and the check runs on what was
 * moved. A foreign entry is linked back at once. 'displaced' means a third
 * party created a new entry in that instant: the holder whose entry was moved
 * finds its record gone at its next heartbeat and reports the compromise.
 */
export async function claimEntry(fs: FileSystem, lockPath: string, expected: string, staleMs?: number): Promise<ClaimOutcome> {
  const aside = tempPathFor(lockPath);
  try {
    await fs.rename(lockPath, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'absent';
    throw error;
  }
  let moved: EntrySnapshot | string | undefined;
  try {
    // A release only compares records; a takeover also needs the time, which costs one more call.
    moved = staleMs === undefined ? await readRecord(fs, aside) : await readEntry(fs, aside);
  } catch (error) {
    // Unread is not ours: put it back.
    await putBack(fs, aside, lockPath).catch(() => undefined);
    throw error;
  }
  // Gone meanwhile: only the sweep removes such a name, and only once it is old, i.e. stale.
  if (moved === undefined) return 'absent';
  const isClaimable = typeof moved === 'string' ? moved === expected : moved.content === expected && Date.now() - moved.mtimeMs > staleMs!;
  if (!isClaimable) return putBack(fs, aside, lockPath);
  await fs.unlink(aside).catch(() => undefined);
  return 'removed';
}

/** Links a moved entry back under its name and drops the unique name. */
async function putBack(fs: FileSystem, aside: string, lockPath: string): Promise<ClaimOutcome> {
  try {
    await fs.link(aside, lockPath);
  } catch (error) {
    // Any other failure leaves the entry under its unique name (swept once old) rather than lose it.
    if (errorCode(error) !== 'EEXIST') throw error;
    await fs.unlink(aside).catch(() => undefined);
    return 'displaced';
  }
  await fs.unlink(aside).catch(() => undefined);
  return 'restored';
}
