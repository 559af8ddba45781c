/**
 * A held cross-process lock: keeps its entry fresh with an mtime heartbeat,
 * notices when the entry is lost, and releases only an entry that is still
 * its own.
 */
import { parseOwner, readRecord } from './lock-entry.js';
import { ProcessLockError } from './lock-errors.js';
import { errorCode, type FileSystem } from './fs-seam.js';
import { removeEntryUnderSubLock } from './takeover-lock.js';

/**
 * A heartbeat gap (or a release) at or past this share of staleMs counts as
 * late: the rest, staleMs / 4, is the margin for the syscalls between a
 * holder's decision and their effect. Only a holder never late since it
 * acquired may release without the takeover sub-lock.
 */
const LATE_SHARE = 0.75;

/** A lock held by this process. Obtained from `acquireProcessLock`. */
export interface HeldLock {
  /**
   * Refreshes the heartbeat and checks that the entry is still this lock's.
   * Rejects with ProcessLockError `ERR_LOCK_COMPROMISED` if the lock was lost
   * or taken over, `ERR_LOCK_RELEASED` after `release()`. Call it right before
   * an irreversible step (a rename) of the critical section.
   */
  assertHeld(): Promise<void>;
  /** Whether the lock is known to be lost (set by the heartbeat or `assertHeld`). */
  readonly isCompromised: boolean;
  /**
   * Stops the heartbeat and removes the entry if it is still this lock's;
   * a lock that was lost is left to its new holder. Idempotent: every call
   * returns the first call's promise.
   */
  release(): Promise<void>;
}

/** Records of the locks this process holds: a waiter here never judges them stale, whatever their age. */
export const heldHere = new Set<string>();

/** Timing of one held lock, already validated. */
export interface HeartbeatTiming {
  readonly staleMs: number;
  readonly heartbeatMs: number;
  /** The poll base, for a release that must wait for the takeover sub-lock. */
  readonly retryMs: number;
}

/** When the entry's mtime was last set by us: the value written (wall clock) and the monotonic time just before. */
export interface RefreshTime {
  readonly wallMs: number;
  readonly monoMs: number;
}

export class ProcessLockHandle implements HeldLock {
  readonly #fs: FileSystem;
  readonly #lockPath: string;
  readonly #content: string;
  readonly #timing: HeartbeatTiming;
  #lastRefresh: RefreshTime;
  /** Set once a heartbeat came late: someone may have judged the entry stale, so release only under the sub-lock. */
  #wasLate = false;
  /** Set once a foreign record was read at our path: from then on the entry is never touched. */
  #sawForeign = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #beat: Promise<void> | undefined;
  #compromise: ProcessLockError | undefined;
  #releasing: Promise<void> | undefined;

  /** `created`: taken just before the entry was written, so never later than its mtime. */
  constructor(fs: FileSystem, lockPath: string, content: string, timing: HeartbeatTiming, created: RefreshTime) {
    this.#fs = fs;
    this.#lockPath = lockPath;
    this.#content = content;
    this.#timing = timing;
    this.#lastRefresh = created;
    heldHere.add(content);
    this.#schedule();
  }

  get isCompromised(): boolean {
    return this.#compromise !== undefined;
  }

  async assertHeld(): Promise<void> {
    if (this.#releasing !== undefined) throw new ProcessLockError('ERR_LOCK_RELEASED', `the lock ${JSON.stringify(this.#lockPath)} was released`, { lockPath: this.#lockPath });
    if (this.#compromise === undefined) await this.#refresh(true);
    if (this.#compromise !== undefined) throw this.#compromise;
  }

  release(): Promise<void> {
    this.#releasing ??= this.#release();
    return this.#releasing;
  }

  /**
   * Removes the entry only while it is provably ours. Never late since the
   * acquire and fresh now: nobody can have judged it stale, and only a
   * takeover (which needs that judgement) or its owner removes an existing
   * entry, so a read showing our record stays true until the unlink. Late at
   * some point: the same read and unlink, under the takeover sub-lock.
   */
  async #release(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    heldHere.delete(this.#content);
    await this.#beat;
    if (this.#sawForeign) return;
    if (this.#compromise === undefined && !this.#wasLate && this.#isFreshNow()) {
      if ((await readRecord(this.#fs, this.#lockPath)) !== this.#content) return;
      if (this.#isFreshNow()) {
        await this.#fs.unlink(this.#lockPath).catch((error: unknown) => {
          if (errorCode(error) !== 'ENOENT') throw error;
        });
        return;
      }
    }
    const { staleMs, retryMs } = this.#timing;
    await removeEntryUnderSubLock(this.#fs, this.#lockPath, this.#content, staleMs, retryMs);
  }

  /** Whether the last heartbeat is recent enough, on both clocks, that no waiter can judge the entry stale before our next step lands. */
  #isFreshNow(): boolean {
    const late = this.#timing.staleMs * LATE_SHARE;
    return Date.now() - this.#lastRefresh.wallMs < late && performance.now() - this.#lastRefresh.monoMs < late;
  }

  /** Unref'd: a heartbeat must never keep the process alive on its own. */
  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#beat = this.#refresh(false).finally(() => {
        this.#beat = undefined;
        if (this.#releasing === undefined && this.#compromise === undefined) this.#schedule();
      });
    }, this.#timing.heartbeatMs);
    this.#timer.unref?.();
  }

  /**
   * Touch first, then check: if the check passes, the entry was ours at the
   * moment of the read and was touched just before. Touching a foreign entry
   * in between is harmless (it is fresh anyway) and the check then fails.
   * `isStrict` (assertHeld) rethrows a failure that left the question open.
   */
  async #refresh(isStrict: boolean): Promise<void> {
    const monoMs = performance.now();
    const nowMs = Date.now();
    try {
      await this.#fs.utimes(this.#lockPath, nowMs);
      // Judged on completion: until the touch lands, the entry shows the previous time.
      if (!this.#isFreshNow()) this.#wasLate = true;
      const record = await readRecord(this.#fs, this.#lockPath);
      if (record === this.#content) {
        this.#lastRefresh = { wallMs: nowMs, monoMs };
        return;
      }
      if (record === undefined) {
        this.#compromised('its entry vanished');
        return;
      }
      this.#sawForeign = true;
      const owner = parseOwner(record);
      this.#compromised(`it was taken over${owner === undefined ? '' : ` by pid ${owner.pid} on ${JSON.stringify(owner.hostname)}`}`);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') this.#compromised('its entry vanished', error);
      // Another failure (EIO, a slow network file system) may pass; past the stale bound others may have taken over.
      else if (Date.now() - this.#lastRefresh.wallMs >= this.#timing.staleMs) this.#compromised(`its heartbeat failed for ${this.#timing.staleMs} ms`, error);
      else if (isStrict) throw error;
    }
  }

  #compromised(reason: string, cause?: unknown): void {
    if (this.#compromise !== undefined || this.#releasing !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    heldHere.delete(this.#content);
    this.#compromise = new ProcessLockError('ERR_LOCK_COMPROMISED', `lost the lock ${JSON.stringify(this.#lockPath)}: ${reason}`, {
      lockPath: this.#lockPath,
      cause,
    });
  }
}
