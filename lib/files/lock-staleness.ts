/**
 * When a lock entry counts as stale. Its heartbeat (mtime) older than
 * `staleMs` on this process's wall clock, OR the same (record, mtime) pair
 * seen unchanged for `staleMs` on this process's monotonic clock. The second
 * rule frees an entry whose mtime lies in the future (the clock was stepped
 * back after its last heartbeat, or someone touched it): by wall age alone it
 * would block every waiter until the clock catches up. It is safe on its
 * own: a live holder changes the mtime at every heartbeat (every staleMs / 2
 * at most), so its pair never stays unchanged for staleMs.
 */

/** A lock entry as the waiter saw it: record and heartbeat time. */
export interface SeenEntry {
  readonly content: string;
  readonly mtimeMs: number;
}

/** Remembers the last pair seen at one path and since when (monotonic), to judge staleness. */
export class StaleWatch {
  readonly #staleMs: number;
  readonly #isWallClockTrusted: boolean;
  #content: string | undefined;
  #mtimeMs = Number.NaN;
  #sinceMs = 0;

  /** `isWallClockTrusted` false: judge by the monotonic rule alone (the takeover sub-lock, whose safety must not depend on clock steps). */
  constructor(staleMs: number, isWallClockTrusted = true) {
    this.#staleMs = staleMs;
    this.#isWallClockTrusted = isWallClockTrusted;
  }

  /**
   * Records `seen` and returns how long until it turns stale: negative or
   * zero means stale now. A different pair restarts the monotonic count.
   */
  untilStale(seen: SeenEntry): number {
    const now = performance.now();
    if (seen.content !== this.#content || seen.mtimeMs !== this.#mtimeMs) {
      this.#content = seen.content;
      this.#mtimeMs = seen.mtimeMs;
      this.#sinceMs = now;
    }
    const byUnchanged = this.#staleMs - (now - this.#sinceMs);
    if (!this.#isWallClockTrusted) return byUnchanged;
    return Math.min(this.#staleMs - (Date.now() - seen.mtimeMs), byUnchanged);
  }

  /** Whether `seen` is exactly the pair last recorded (the takeover re-check under the sub-lock). */
  isSame(seen: SeenEntry): boolean {
    return seen.content === this.#content && seen.mtimeMs === this.#mtimeMs;
  }
}
