/**
 * Removes temp files that crashed writers left behind. Only files of this
 * library's naming (see temp-name.ts) are candidates, and only once they are
 * old: a live writer's temp file is milliseconds to seconds old and may be
 * about to be renamed, an abandoned one is minutes old. The age decides;
 * pid liveness only adds caution (pids are per PID namespace: a writer in
 * another container looks dead from here). A file carrying this process's
 * own pid was left by a predecessor under the same pid (a container's PID 1
 * restarting) only if it is older than this process. Containers sharing a
 * volume see each other's pids as dead, so for them the 10-minute age is the
 * only guard; it covers every temp file of this library, the process lock's
 * (which live for microseconds) included. See docs/DESIGN.md, section 6.
 */
import path from 'node:path';
import { errorCode, type FileSystem } from './fs-seam.js';
import { tempFileOwner } from './temp-name.js';

/** What one sweep did: file names removed, and names it could not remove with their error codes. */
export interface SweepResult {
  readonly removed: string[];
  readonly failed: { readonly name: string; readonly code: string | undefined }[];
}

/**
 * Whether a process with this pid exists. EPERM means it exists but belongs
 * to another user. A zombie counts as alive until its parent reaps it.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/**
 * The youngest a temp file may be and still be swept: 10 minutes since its
 * last write. Far above any write's duration, including a snapshot written
 * ahead of a rename that waits for the cross-process lock.
 */
export const TEMP_SWEEP_MIN_AGE_MS = 10 * 60 * 1000;

/**
 * Sweeps `directory` once. A missing directory has nothing to sweep. A temp
 * file is removed only when its mtime is at least {@link TEMP_SWEEP_MIN_AGE_MS}
 * old AND its writer is gone: its pid is not alive here, or it is this
 * process's pid and the file predates this process.
 */
export async function sweepTempFiles(fs: FileSystem, directory: string, isAlive = isProcessAlive): Promise<SweepResult> {
  const result: SweepResult = { removed: [], failed: [] };
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return result;
    throw error;
  }
  for (const name of names) {
    const pid = tempFileOwner(name);
    if (pid === undefined) continue;
    const file = path.join(directory, name);
    const mtimeMs = await mtimeOf(fs, file);
    if (mtimeMs === undefined || Date.now() - mtimeMs < TEMP_SWEEP_MIN_AGE_MS) continue;
    if (pid === process.pid ? !predatesThisProcess(mtimeMs) : isAlive(pid)) continue;
    try {
      await fs.unlink(file);
      result.removed.push(name);
    } catch (error) {
      // ENOENT: another process swept it first, which is the outcome we wanted.
      if (errorCode(error) !== 'ENOENT') result.failed.push({ name, code: errorCode(error) });
    }
  }
  return result;
}

/**
 * File systems truncate timestamps (FAT to 2 s), which makes a file look
 * older than it is; this margin keeps such a file on the safe side. The cost:
 * a predecessor's temp file written in its last 2 s waits for a later start.
 */
const TIMESTAMP_SLACK_MS = 2000;

/** Whether a file last written at `mtimeMs` predates this process, so no writer in this process can own it. */
function predatesThisProcess(mtimeMs: number): boolean {
  return mtimeMs < performance.timeOrigin - TIMESTAMP_SLACK_MS;
}

/** The file's mtime, or undefined when it cannot be read (gone already: nothing to do). */
async function mtimeOf(fs: FileSystem, file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** A sweep's result, or the error that stopped it (readdir failed). */
export type SweepOutcome = SweepResult | { readonly error: unknown };

/** How many directories a sweeper remembers as swept; the least recently used is forgotten first. */
export const SWEPT_DIRECTORIES_REMEMBERED = 1024;

/**
 * Sweeps each directory once per instance, on first use. Concurrent first
 * uses of one directory share one sweep. A sweep never fails the caller:
 * its outcome, failures included, goes to `report`. Memory is bounded: past
 * `capacity` directories the least recently used one is forgotten, and is
 * swept again (one readdir) if it is used again.
 */
export class DirectorySweeper {
  readonly #fs: FileSystem;
  readonly #report: (directory: string, outcome: SweepOutcome) => void;
  readonly #capacity: number;
  /** Insertion order is recency order: a hit is deleted and set again. */
  readonly #sweeps = new Map<string, Promise<void>>();

  constructor(fs: FileSystem, report: (directory: string, outcome: SweepOutcome) => void, capacity = SWEPT_DIRECTORIES_REMEMBERED) {
    this.#fs = fs;
    this.#report = report;
    this.#capacity = capacity;
  }

  /** How many directories are remembered (at most the capacity). */
  get size(): number {
    return this.#sweeps.size;
  }

  /** Resolves once `directory` has been swept (at once after the first time); never rejects. */
  sweepOnce(directory: string): Promise<void> {
    let sweep = this.#sweeps.get(directory);
    if (sweep === undefined) {
      sweep = sweepTempFiles(this.#fs, directory).then(
        (result) => this.#report(directory, result),
        (error: unknown) => this.#report(directory, { error }),
      );
    } else {
      this.#sweeps.delete(directory);
    }
    this.#sweeps.set(directory, sweep);
    // Forgetting a sweep still running is harmless: its callers hold the promise.
    if (this.#sweeps.size > this.#capacity) this.#sweeps.delete(this.#sweeps.keys().next().value!);
    return sweep;
  }
}
