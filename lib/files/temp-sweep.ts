/**
 * Removes temp files that crashed writers left behind. Only files of this
 * library's naming (see temp-name.ts) whose writer is gone are removed: a
 * live process's temp file may be about to be renamed. A file carrying this
 * process's own pid was left by a predecessor under the same pid (a
 * container's PID 1 restarting) exactly when it is older than this process.
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
 * Sweeps `directory` once. A missing directory has nothing to sweep. Caveat:
 * pids are per PID namespace, so processes in different containers must not
 * share one directory.
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
    if (pid === process.pid ? !(await predatesThisProcess(fs, file)) : isAlive(pid)) continue;
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

/** Whether `file` was last written before this process started, so no writer in this process can own it. */
async function predatesThisProcess(fs: FileSystem, file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).mtimeMs < performance.timeOrigin - TIMESTAMP_SLACK_MS;
  } catch {
    return false;
  }
}

/** A sweep's result, or the error that stopped it (readdir failed). */
export type SweepOutcome = SweepResult | { readonly error: unknown };

/**
 * Sweeps each directory once per instance, on first use. Concurrent first
 * uses of one directory share one sweep. A sweep never fails the caller:
 * its outcome, failures included, goes to `report`.
 */
export class DirectorySweeper {
  readonly #fs: FileSystem;
  readonly #report: (directory: string, outcome: SweepOutcome) => void;
  readonly #sweeps = new Map<string, Promise<void>>();

  constructor(fs: FileSystem, report: (directory: string, outcome: SweepOutcome) => void) {
    this.#fs = fs;
    this.#report = report;
  }

  /** Resolves once `directory` has been swept (at once after the first time); never rejects. */
  sweepOnce(directory: string): Promise<void> {
    let sweep = this.#sweeps.get(directory);
    if (sweep === undefined) {
      sweep = sweepTempFiles(this.#fs, directory).then(
        (result) => this.#report(directory, result),
        (error: unknown) => this.#report(directory, { error }),
      );
      this.#sweeps.set(directory, sweep);
    }
    return sweep;
  }
}
