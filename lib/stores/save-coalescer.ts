/**
 * Collapses a store's saves: at most one runs and one waits. The waiting save
 * calls `write` only when it starts, so every change requested while one save
 * runs is carried by the next one: a burst of 1,000 changes costs two writes,
 * not 1,000 (issue 4, behaviour 2). Saves of one store never overlap, and
 * each caller learns whether the save that covers its change succeeded.
 */
export class SaveCoalescer {
  readonly #write: () => Promise<void>;
  /** Bumped on every change; a save records the value it had when it started. */
  #changes = 0;
  #savedChanges = 0;
  #running: Promise<void> | undefined;
  #waiting: Promise<void> | undefined;
  #watched: Promise<void> | undefined;

  /**
   * @param write Persists every change made so far; called synchronously when a
   *   save starts. A rejection (or a throw) leaves the store dirty.
   */
  constructor(write: () => Promise<void>) {
    this.#write = write;
  }

  /** Records a change that the next save must carry. */
  markChanged(): void {
    this.#changes += 1;
  }

  /** Whether some change has not reached disk yet (a failed save leaves it so). */
  get isDirty(): boolean {
    return this.#changes !== this.#savedChanges;
  }

  /** Whether a save is running or waiting. */
  get isSaving(): boolean {
    return this.#running !== undefined || this.#waiting !== undefined;
  }

  /**
   * Resolves once every change made before the call is on disk: it joins the
   * waiting save, or queues one behind the running save, or starts one. A save
   * that starts with nothing new to write resolves without writing. Rejects
   * with the write's own error (NFR-8).
   */
  save(): Promise<void> {
    if (this.#waiting !== undefined) return this.#waiting;
    if (this.#running === undefined) return this.#start();
    const waiting = this.#running
      .then(ignore, ignore)
      .then(() => {
        this.#waiting = undefined;
        return this.#start();
      });
    this.#waiting = waiting;
    return waiting;
  }

  /**
   * Like `save()` for callers that do not wait: a failure goes to `onError`
   * once per save, however many changes joined it, and never becomes an
   * unhandled rejection.
   */
  saveInBackground(onError: (error: unknown) => void): void {
    const saving = this.save();
    if (saving === this.#watched) return;
    this.#watched = saving;
    saving.then(undefined, onError);
  }

  #start(): Promise<void> {
    if (!this.isDirty) return Promise.resolve();
    const target = this.#changes;
    let writing: Promise<void>;
    try {
      writing = this.#write();
    } catch (error) {
      writing = Promise.reject(error);
    }
    const running: Promise<void> = writing
      .then(() => {
        // Saves of one store run one at a time, so targets only grow.
        this.#savedChanges = target;
      })
      .finally(() => {
        // No save starts while this one runs: a later save waits for this whole promise, this
        // callback included, so the running save is still this one.
        this.#running = undefined;
      });
    this.#running = running;
    return running;
  }
}

function ignore(): void {}
