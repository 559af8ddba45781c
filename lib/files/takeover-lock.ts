/**
 * The takeover sub-lock `<target>.lock.takeover`: only its holder may replace
 * a stale lock entry, and a holder that was late with its heartbeat removes
 * its own entry only under it. Serialising these two steps is what makes them
 * safe: a waiter that judged an entry stale re-reads it under the sub-lock and
 * replaces it (rename of its own ready entry over it, no gap in which the name
 * is free) only if it is still the very pair it judged; no entry is ever
 * moved aside or deleted by name on a judgement made outside the sub-lock.
 *
 * The sub-lock is an entry like the main one (created by `link`, with a random
 * record). It is held for a read and a rename, milliseconds, and guarded by
 * time on the MONOTONIC clock only: its holder acts only during the first
 * staleMs / 2 of its tenure (counted from before its create), and another
 * process breaks it only after seeing the same record unchanged for staleMs
 * (counted from after that create). The two windows cannot overlap whatever
 * the wall clock does. A holder killed by SIGKILL blocks takeovers for about
 * staleMs; a holder that overstays (a stalled event loop) does nothing and
 * leaves its sub-lock to be broken. See docs/DESIGN.md, "Cross-process lock".
 */
import { randomBytes } from 'node:crypto';
import { errorCode, type FileSystem } from './fs-seam.js';
import { createEntry, newOwner, prepareEntry, readEntry, readRecord } from './lock-entry.js';
import { StaleWatch } from './lock-staleness.js';
import { pollDelay, sleep } from './lock-wait.js';
import { siblingPath } from './sibling-name.js';
import { tempPathFor } from './temp-name.js';

/** The sub-lock beside a lock entry. */
export function takeoverPathFor(lockPath: string): string {
  return siblingPath(lockPath, '.takeover');
}

/** One holding of the sub-lock. */
export class Tenure {
  readonly #fs: FileSystem;
  readonly #path: string;
  readonly #content: string;
  readonly #startedMs: number;
  readonly #staleMs: number;

  constructor(fs: FileSystem, path: string, content: string, startedMs: number, staleMs: number) {
    this.#fs = fs;
    this.#path = path;
    this.#content = content;
    this.#startedMs = startedMs;
    this.#staleMs = staleMs;
  }

  /** Whether the holder may still act: within staleMs / 2 of the start, where no breaker can have started. */
  isFresh(): boolean {
    return performance.now() - this.#startedMs < this.#staleMs / 2;
  }

  /** A last, cheap check that nobody broke the sub-lock (cannot happen while fresh, short of a bug or a person). */
  async isOurs(): Promise<boolean> {
    return (await readRecord(this.#fs, this.#path)) === this.#content;
  }

  /** Removes the sub-lock while fresh; an overstayed one is left to be broken as stale (it may no longer be ours). */
  async leave(): Promise<void> {
    if (!this.isFresh()) return;
    await this.#fs.unlink(this.#path).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error;
    });
  }
}

/** The sub-lock of one lock entry, as one acquirer or releaser sees it over its polls. */
export class TakeoverLock {
  readonly #fs: FileSystem;
  readonly #path: string;
  readonly #staleMs: number;
  readonly #watch: StaleWatch;

  constructor(fs: FileSystem, lockPath: string, staleMs: number) {
    this.#fs = fs;
    this.#path = takeoverPathFor(lockPath);
    this.#staleMs = staleMs;
    this.#watch = new StaleWatch(staleMs, false);
  }

  /**
   * One try: the tenure, or undefined when another process holds the
   * sub-lock. A sub-lock seen unchanged for staleMs is broken on the way (its
   * holder died or overstayed); the caller polls again.
   */
  async tryEnter(): Promise<Tenure | undefined> {
    const startedMs = performance.now();
    const content = JSON.stringify(newOwner(randomBytes(16).toString('hex'), Date.now()));
    if (await createEntry(this.#fs, this.#path, content, Date.now())) return new Tenure(this.#fs, this.#path, content, startedMs, this.#staleMs);
    const seen = await readEntry(this.#fs, this.#path);
    if (seen !== undefined && this.#watch.untilStale(seen) <= 0) await this.#breakStale(seen.content);
    return undefined;
  }

  /**
   * Removes the sub-lock holding `expected`: moved to a unique name, checked,
   * and linked back if it turns out to be another (fresh) one. Two breakers of
   * the same dead holder can meet here; see DESIGN for that residual case.
   */
  async #breakStale(expected: string): Promise<void> {
    const aside = tempPathFor(this.#path);
    try {
      await this.#fs.rename(this.#path, aside);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    const moved = await readRecord(this.#fs, aside).catch(() => undefined);
    if (moved !== expected) await this.#fs.link(aside, this.#path).catch(() => undefined);
    await this.#fs.unlink(aside).catch(() => undefined);
  }
}

/** What a takeover attempt found. */
export type TakeoverOutcome = 'taken' | 'absent' | 'changed' | 'busy';

/**
 * Replaces the entry `watch` judged stale with a new entry holding `content`,
 * if, under the sub-lock, it is still that very pair and still stale.
 * 'absent': the entry is gone (create it); 'changed' or 'busy': poll again.
 */
export async function takeOverEntry(fs: FileSystem, lockPath: string, watch: StaleWatch, sub: TakeoverLock, content: string): Promise<TakeoverOutcome> {
  // Ready before the sub-lock, so that the tenure lasts only a read and a rename.
  const temp = await prepareEntry(fs, lockPath, content);
  let outcome: TakeoverOutcome = 'busy';
  try {
    const tenure = await sub.tryEnter();
    if (tenure === undefined) return outcome;
    outcome = 'changed';
    try {
      const current = await readEntry(fs, lockPath);
      if (current === undefined) outcome = 'absent';
      else if (watch.isSame(current) && watch.untilStale(current) <= 0 && tenure.isFresh() && (await tenure.isOurs()) && tenure.isFresh()) {
        await fs.rename(temp, lockPath);
        outcome = 'taken';
      }
    } finally {
      await tenure.leave();
    }
    return outcome;
  } finally {
    if (outcome !== 'taken') await fs.unlink(temp).catch(() => undefined);
  }
}

/**
 * Removes the entry holding `content` under the sub-lock (the release of a
 * holder that was late with its heartbeat, whose entry someone may be
 * judging stale right now). Leaves any other entry alone. Waits for the
 * sub-lock like a takeover does; never aborts.
 */
export async function removeEntryUnderSubLock(fs: FileSystem, lockPath: string, content: string, staleMs: number, retryMs: number): Promise<void> {
  const sub = new TakeoverLock(fs, lockPath, staleMs);
  for (let attempt = 0; ; attempt += 1) {
    const tenure = await sub.tryEnter();
    if (tenure === undefined) {
      await sleep(pollDelay(attempt, retryMs, Number.POSITIVE_INFINITY), lockPath, undefined);
      continue;
    }
    try {
      if ((await readRecord(fs, lockPath)) === content && tenure.isFresh()) {
        await fs.unlink(lockPath).catch((error: unknown) => {
          if (errorCode(error) !== 'ENOENT') throw error;
        });
      }
    } finally {
      await tenure.leave();
    }
    return;
  }
}
