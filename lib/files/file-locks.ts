/**
 * Per-file locks: a SerialQueue keyed by canonical path. Resolving the
 * canonical path takes a realpath, and two realpaths may finish in either
 * order, so calls are admitted to the queue strictly in call order: the
 * resolutions run concurrently, the enqueues one after another.
 */
import { canonicalPath } from './canonical-path.js';
import type { FileSystem } from './fs-seam.js';
import { SerialQueue, type SerialQueueMetrics, type SerialQueueOptions } from '../queue/serial-queue.js';

/** A lock per canonical file path, admitting calls in call order. Internal to the EncryptionService. */
export class FileLocks {
  readonly #fs: FileSystem;
  readonly #queue: SerialQueue<string>;
  /** Settles (never rejects) once the newest call has been enqueued or has failed to resolve. */
  #admission: Promise<void> = Promise.resolve();
  #admitting = 0;

  constructor(fs: FileSystem, queueOptions: SerialQueueOptions) {
    this.#fs = fs;
    this.#queue = new SerialQueue<string>(queueOptions);
  }

  /** Runs `task` with the canonical path, after every earlier call on that file has settled. */
  run<T>(filePath: string, task: (canonical: string) => T | Promise<T>): Promise<T> {
    const resolving = canonicalPath(this.#fs, filePath);
    // Handled below once earlier calls are admitted; this keeps an early failure from counting as unhandled.
    resolving.catch(() => undefined);
    const previous = this.#admission;
    let admitted!: () => void;
    this.#admission = new Promise<void>((resolve) => (admitted = resolve));
    this.#admitting += 1;
    const admit = (): void => {
      this.#admitting -= 1;
      admitted();
    };
    return previous
      .then(() => resolving)
      .then(
        (canonical) => {
          const result = this.#queue.run(canonical, () => task(canonical));
          admit();
          return result;
        },
        (error: unknown) => {
          admit();
          throw error;
        },
      );
  }

  /** Whether any call is being admitted, running or waiting. */
  get isBusy(): boolean {
    return this.#admitting > 0 || this.#queue.size > 0;
  }

  /** Resolves once no call is being admitted, running or waiting; event-driven, no polling. */
  async onIdle(): Promise<void> {
    while (this.isBusy) {
      await this.#admission;
      await this.#queue.onIdle();
    }
  }

  /** The queue's counters; `activeKeys` counts files with a live lock. */
  metrics(): SerialQueueMetrics {
    return this.#queue.metrics();
  }
}
