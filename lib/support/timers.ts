/**
 * Timers for delays of any length. Node (and every browser) turns a delay
 * above 2^31-1 ms into 1 ms, so a 3e9 ms debounce fired at once and an
 * `Infinity` limit re-armed itself hundreds of times a second (issue 10,
 * defect 2). Here `Infinity` arms nothing and longer delays run in chunks.
 */

/** The longest delay `setTimeout` honours (about 24.8 days). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * The delay to give `setTimeout` for a wait of `delayMs`: `undefined` for
 * Infinity (arm nothing), else clamped to [0, MAX_TIMER_DELAY_MS]. A timer
 * armed with it may fire before `delayMs`; its callback must check the time
 * and re-arm, as the debouncer and the wait monitor do.
 */
export function timerDelay(delayMs: number): number | undefined {
  if (delayMs === Infinity) return undefined;
  return Math.min(MAX_TIMER_DELAY_MS, Math.max(0, delayMs));
}

/** A pending {@link setLongTimeout}. */
export interface LongTimeout {
  /** Drops the call if it has not run; idempotent. */
  cancel(): void;
}

/** The clock is read at call time so jest's fake timers can drive it. */
const now = (): number => globalThis.performance.now();

/**
 * Calls `fire` once `delayMs` have passed, for any delay: chunks of at most
 * MAX_TIMER_DELAY_MS, and no timer at all for Infinity. The timer is
 * referenced unless `unref` is set, like `setTimeout`'s.
 */
export function setLongTimeout(fire: () => void, delayMs: number, options: { unref?: boolean } = {}): LongTimeout {
  const dueAt = now() + delayMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    const delay = timerDelay(dueAt - now());
    if (delay === undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (now() < dueAt) arm();
      else fire();
    }, delay);
    if (options.unref === true) timer.unref?.();
  };
  arm();
  return {
    cancel: () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
