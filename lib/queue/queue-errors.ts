/** The queue's typed error; its message never carries task data (NFR-4). */

/**
 * `run` was called on a key from inside a task that is still running on that
 * same key. Without detection this would deadlock, so with
 * `detectReentry: true` the queue rejects with this error instead.
 */
export class LockReentryError extends Error {
  override readonly name = 'LockReentryError';
  readonly code = 'ERR_LOCK_REENTRY' as const;
  /** The key that was re-entered. */
  readonly key: unknown;

  constructor(key: unknown) {
    super(`run() re-entered key ${describeKey(key)} from a task that holds it; this would deadlock`);
    this.key = key;
  }
}

/** Renders a queue key for a message without dumping whole objects into it. */
export function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' && key !== null ? '[object]' : String(key);
}
