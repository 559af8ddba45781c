/**
 * The lock the original server used (upstream src/oauth/file-mutex.ts),
 * re-implemented from reading it for the queue benchmark: same algorithm,
 * same costs, written afresh. Per normalised path it keeps a state of
 * "locked" plus an array of waiters; a caller on a locked path parks a
 * resolver in that array, and the holder's `finally` hands the lock to the
 * first parked caller (recording its wait with Date.now()) or, when nobody
 * waits, deletes the path's state. Warnings go to a no-op logger here, as
 * the queue's do in the benchmark.
 */
import { resolve as resolvePath } from 'node:path';

const DEPTH_WARNING = 10;
const WAIT_WARNING_MS = 5000;

export class OriginalFileMutex {
  #states = new Map();
  #stats = { activeFiles: 0, totalWaitTimeMs: 0, longestWaitMs: 0, queueDepthWarnings: 0 };
  #logger;

  constructor(logger = { warn() {} }) {
    this.#logger = logger;
  }

  async withLock(filePath, operation) {
    const id = resolvePath(filePath);
    let state = this.#states.get(id);
    if (state === undefined) {
      state = { waiters: [], isLocked: false };
      this.#states.set(id, state);
      this.#stats.activeFiles += 1;
    }
    if (state.isLocked) {
      const queuedAt = Date.now();
      await new Promise((wake) => {
        state.waiters.push({ wake, queuedAt });
        if (state.waiters.length >= DEPTH_WARNING) {
          this.#stats.queueDepthWarnings += 1;
          this.#logger.warn({ filePath: id, queueLength: state.waiters.length }, 'High mutex contention');
        }
      });
    }
    state.isLocked = true;
    try {
      return await operation();
    } finally {
      const next = state.waiters.shift();
      if (next !== undefined) {
        const waited = Date.now() - next.queuedAt;
        this.#stats.totalWaitTimeMs += waited;
        if (waited > this.#stats.longestWaitMs) this.#stats.longestWaitMs = waited;
        if (waited >= WAIT_WARNING_MS) this.#logger.warn({ filePath: id, waitTimeMs: waited }, 'Long mutex wait');
        next.wake();
      } else {
        state.isLocked = false;
        this.#states.delete(id);
        this.#stats.activeFiles = Math.max(0, this.#stats.activeFiles - 1);
      }
    }
  }
}
