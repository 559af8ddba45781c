/**
 * The cross-process lock's typed error. Messages name the lock file and, at
 * most, the other holder's pid and host; never file contents or secrets.
 */

/** Stable codes of {@link ProcessLockError}. */
export type ProcessLockErrorCode =
  /** The lock was lost while held: its entry vanished or now belongs to another holder. */
  | 'ERR_LOCK_COMPROMISED'
  /** `assertHeld()` was called after `release()`. */
  | 'ERR_LOCK_RELEASED'
  /** The caller's signal aborted the wait; the lock was never held. */
  | 'ERR_LOCK_ABORTED'
  /** An option is out of range (named in the message). */
  | 'ERR_LOCK_OPTION'
  /** Something other than a regular file (a directory, a symlink) sits at the lock path; no acquirer made it. */
  | 'ERR_LOCK_ENTRY_INVALID';

/** A cross-process lock failure; branch on `code`. */
export class ProcessLockError extends Error {
  override readonly name = 'ProcessLockError';
  readonly code: ProcessLockErrorCode;
  /** The lock entry's path (`<target>.lock`), or undefined for an option error. */
  readonly lockPath: string | undefined;

  constructor(code: ProcessLockErrorCode, message: string, options: { lockPath?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.lockPath = options.lockPath;
  }
}
