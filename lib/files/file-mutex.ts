/**
 * The original server's `FileMutex`, public API for public API, as a thin
 * layer over SerialQueue: one queue key per absolute path. Servers that
 * export or test their own FileMutex swap it for this one.
 */
import path from 'node:path';
import { SerialQueue, type SerialQueueOptions } from '../queue/serial-queue.js';

/** Counters of per-file locks, shaped as the original `FileMutex` reported them. */
export interface FileMutexMetrics {
  /** Files with an operation running or queued. */
  activeFiles: number;
  /** Total time operations spent waiting for their turn, in ms. */
  totalWaitTimeMs: number;
  longestWaitMs: number;
  /** How many times a file's queue reached the depth threshold. */
  queueDepthWarnings: number;
}

/**
 * Runs operations on one file one at a time, in call order; different files
 * do not wait for each other. Paths are keyed by `path.resolve` (not by
 * realpath, unlike the EncryptionService's locks). Warnings (more than 10
 * waiting, a wait of 5 s) follow SerialQueue's options and defaults.
 *
 * Hazard: calling `withLock` on a file from inside an operation holding that
 * file's lock deadlocks, as does awaiting `waitForPending()` there.
 */
export class FileMutex {
  readonly #queue: SerialQueue<string>;
  #totalWaitTimeMs = 0;
  #longestWaitMs = 0;
  /** Depth warnings counted before the last `resetMetrics()`. */
  #depthWarningsBeforeReset = 0;

  constructor(options: SerialQueueOptions = {}) {
    this.#queue = new SerialQueue<string>(options);
  }

  /** Runs `operation` alone among operations on `filePath`, after every earlier one; resolves with its result. */
  withLock<T>(filePath: string, operation: () => Promise<T>): Promise<T> {
    const calledAt = Date.now();
    return this.#queue.run(path.resolve(filePath), () => {
      const waited = Date.now() - calledAt;
      this.#totalWaitTimeMs += waited;
      this.#longestWaitMs = Math.max(this.#longestWaitMs, waited);
      return operation();
    });
  }

  /** A snapshot of the counters since construction or the last `resetMetrics()`. */
  getMetrics(): FileMutexMetrics {
    return {
      activeFiles: this.#queue.size,
      totalWaitTimeMs: this.#totalWaitTimeMs,
      longestWaitMs: this.#longestWaitMs,
      queueDepthWarnings: this.#queue.metrics().queueDepthWarnings - this.#depthWarningsBeforeReset,
    };
  }

  /** Whether any operation runs or waits. */
  hasPendingOperations(): boolean {
    return this.#queue.size > 0;
  }

  /** Resolves once no operation runs or waits, counting operations added meanwhile. */
  waitForPending(): Promise<void> {
    return this.#queue.onIdle();
  }

  /** Zeroes the wait and warning counters; `activeFiles` keeps counting live files. */
  resetMetrics(): void {
    this.#totalWaitTimeMs = 0;
    this.#longestWaitMs = 0;
    this.#depthWarningsBeforeReset = this.#queue.metrics().queueDepthWarnings;
  }
}
