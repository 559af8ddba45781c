/**
 * A lock per file shared by every process on one host (and, with caveats,
 * across hosts on a network file system): the entry `<target>.lock` holds its
 * owner record, a heartbeat keeps its mtime fresh, and an entry whose
 * heartbeat is older than `staleMs` belongs to a dead or frozen holder and
 * may be taken over. Staleness is judged ONLY by mtime age, never by pid
 * liveness: processes in different PID namespaces (containers sharing a
 * volume) see each other's pids as dead. See docs/DESIGN.md, "Cross-process lock".
 */
import { randomBytes } from 'node:crypto';
import { canonicalPath } from './canonical-path.js';
import { attachCleanupError } from './cleanup-error.js';
import { nodeFileSystem, type FileSystem } from './fs-seam.js';
import { heldHere, ProcessLockHandle, type HeartbeatTiming, type HeldLock, type RefreshTime } from './held-lock.js';
import { createEntry, lockPathFor, newOwner, readEntry } from './lock-entry.js';
import { ProcessLockError } from './lock-errors.js';
import { StaleWatch } from './lock-staleness.js';
import { abortedError, pollDelay, sleep } from './lock-wait.js';
import { takeOverEntry, TakeoverLock } from './takeover-lock.js';

export type { HeldLock } from './held-lock.js';
export { ProcessLockError, type ProcessLockErrorCode } from './lock-errors.js';

/** Default stale bound: a holder killed with SIGKILL blocks others for at most this long (plus one poll). */
export const DEFAULT_STALE_MS = 10_000;
/** Default base poll interval while waiting (grows to 8×, jittered ×0.5–1.5). */
export const DEFAULT_RETRY_MS = 25;
/**
 * Smallest staleMs accepted. A holder must land a heartbeat (or its release)
 * within three quarters of staleMs, and a takeover its read and rename within
 * half of it; below 500 ms those margins (125 ms, 250 ms) are within what a
 * loaded machine's event loop and thread pool routinely stall.
 */
export const MIN_STALE_MS = 500;
/** Largest delay setTimeout honours; longer ones fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of {@link acquireProcessLock}. */
export interface ProcessLockOptions {
  /**
   * An entry whose heartbeat (mtime) is older than this is stale and may be
   * taken over. Default 10,000 ms. Every process sharing a file must use the
   * same value; keep it well above the file system's mtime granularity
   * (at least 2,000 ms on a file system with 1 s timestamps) and any pause the
   * holder's event loop may take. At least {@link MIN_STALE_MS}.
   */
  staleMs?: number;
  /**
   * How often the holder refreshes its entry's mtime (unref'd timer). Default
   * staleMs / 3; at most staleMs / 2, so one late timer does not make a live
   * holder look dead (and its release stays on the cheap path).
   */
  heartbeatMs?: number;
  /** Base poll interval while waiting, growing by half per poll up to 8×, jittered. Default 25 ms. */
  retryMs?: number;
  /** Gives up waiting (ERR_LOCK_ABORTED). It never releases a lock once acquired. */
  signal?: AbortSignal;
  /** The file-system seam; default the real one. */
  fileSystem?: FileSystem;
}

/**
 * Acquires the cross-process lock of `targetPath` (one lock per canonical
 * path, entry `<canonical>.lock`), waiting while another holder has it.
 * Not re-entrant: a second acquire of a held path waits, even in the same
 * process. An uncontended acquire arms only the heartbeat timer.
 * Hazard: a holder whose event loop stalls longer than `staleMs` can be taken
 * over; call `assertHeld()` before each irreversible step.
 */
export async function acquireProcessLock(targetPath: string, options: ProcessLockOptions = {}): Promise<HeldLock> {
  const timing = timingOf(options);
  const { signal } = options;
  const fs = options.fileSystem ?? nodeFileSystem;
  const lockPath = lockPathFor(await canonicalPath(fs, targetPath));
  const content = JSON.stringify(newOwner(randomBytes(16).toString('hex'), Date.now()));
  const watch = new StaleWatch(timing.staleMs);
  const sub = new TakeoverLock(fs, lockPath, timing.staleMs);
  let wasAbsent = false;
  for (let attempt = 0; ; attempt += 1) {
    if (signal?.aborted === true) throw abortedError(lockPath, signal);
    const created: RefreshTime = { wallMs: Date.now(), monoMs: performance.now() };
    if (await createEntry(fs, lockPath, content, created.wallMs)) return new ProcessLockHandle(fs, lockPath, content, timing, created);
    const seen = await readEntry(fs, lockPath);
    // Released between our link and our read: try again at once, but only once in a row (no spinning).
    if (seen === undefined && !wasAbsent) {
      wasAbsent = true;
      continue;
    }
    wasAbsent = false;
    // Our own record: a network file system retried a link whose first reply was lost.
    if (seen?.content === content) return new ProcessLockHandle(fs, lockPath, content, timing, created);
    let untilStale = seen === undefined ? 0 : watch.untilStale(seen);
    if (seen !== undefined && heldHere.has(seen.content)) untilStale = Number.POSITIVE_INFINITY;
    else if (seen !== undefined && untilStale <= 0) {
      // Only under the takeover sub-lock, and only the very entry judged stale.
      const outcome = await takeOverEntry(fs, lockPath, watch, sub, content);
      if (outcome === 'taken') {
        await fs.utimes(lockPath, created.wallMs).catch(() => undefined);
        return new ProcessLockHandle(fs, lockPath, content, timing, created);
      }
      if (outcome === 'absent') continue;
    }
    await sleep(pollDelay(attempt, timing.retryMs, Math.max(untilStale, 0)), lockPath, signal);
  }
}

/**
 * Runs `fn` holding the lock of `targetPath` and releases it however `fn`
 * ends. When both `fn` and the release fail, `fn`'s error wins and the release
 * error rides on its `cleanupErrors`. `fn` should `await lock.assertHeld()`
 * before its commit step.
 */
export async function withProcessLock<T>(targetPath: string, fn: (lock: HeldLock) => Promise<T>, options?: ProcessLockOptions): Promise<T> {
  const lock = await acquireProcessLock(targetPath, options);
  let result: T;
  try {
    result = await fn(lock);
  } catch (error) {
    await lock.release().catch((cleanupError: unknown) => attachCleanupError(error, cleanupError));
    throw error;
  }
  await lock.release();
  return result;
}

function timingOf(options: ProcessLockOptions): HeartbeatTiming {
  const staleMs = positiveMs('staleMs', options.staleMs ?? DEFAULT_STALE_MS, Number.MAX_SAFE_INTEGER);
  if (staleMs < MIN_STALE_MS) throw optionError('staleMs', `must be at least ${MIN_STALE_MS}`);
  const heartbeatMs = positiveMs('heartbeatMs', options.heartbeatMs ?? Math.min(staleMs / 3, MAX_TIMER_MS), Math.min(staleMs, MAX_TIMER_MS));
  if (heartbeatMs > staleMs / 2) throw optionError('heartbeatMs', `must be at most staleMs / 2 (${staleMs / 2})`);
  const retryMs = positiveMs('retryMs', options.retryMs ?? DEFAULT_RETRY_MS, MAX_TIMER_MS);
  return { staleMs, heartbeatMs, retryMs };
}

function positiveMs(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !(value > 0) || value > max) throw optionError(name, `must be a number of ms in (0, ${max}]`);
  return value;
}

function optionError(name: string, rule: string): ProcessLockError {
  return new ProcessLockError('ERR_LOCK_OPTION', `process lock option ${name} ${rule}`);
}
