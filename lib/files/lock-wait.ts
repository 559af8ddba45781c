/**
 * Waiting for a busy process lock: jittered, growing poll delays, and a sleep
 * that an AbortSignal cuts short. Timers are plain setTimeout, so jest fake
 * timers drive them.
 */
import { ProcessLockError } from './lock-errors.js';

/** Growth of the poll delay per failed attempt, and its cap as a multiple of the base. */
const BACKOFF_FACTOR = 1.5;
const BACKOFF_CAP = 8;

/**
 * The delay before poll `attempt` (0-based): `retryMs` growing by half each
 * time up to 8 × `retryMs`, times a random factor in [0.5, 1.5) so waiters that
 * started together spread out, and never much past the moment the current
 * entry would turn stale (`untilStaleMs`), so a dead holder is noticed
 * promptly. Waking at that moment adds a random [0, retryMs) too: waiters
 * that saw the same entry would otherwise all wake in the same millisecond
 * and race for the takeover sub-lock.
 */
export function pollDelay(attempt: number, retryMs: number, untilStaleMs: number): number {
  const grown = retryMs * Math.min(BACKOFF_FACTOR ** attempt, BACKOFF_CAP);
  const jittered = grown * (0.5 + Math.random());
  return Math.max(1, Math.min(jittered, untilStaleMs + 1 + Math.random() * retryMs));
}

/** The abort error for a wait on `lockPath`; the signal's reason rides along as `cause`. */
export function abortedError(lockPath: string, signal: AbortSignal): ProcessLockError {
  return new ProcessLockError('ERR_LOCK_ABORTED', `gave up waiting for the lock ${JSON.stringify(lockPath)}: aborted`, {
    lockPath,
    cause: signal.reason,
  });
}

/** Resolves after `ms`, or rejects with ERR_LOCK_ABORTED as soon as `signal` aborts. Leaves no timer or listener behind. */
export function sleep(ms: number, lockPath: string, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(abortedError(lockPath, signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(lockPath, signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
