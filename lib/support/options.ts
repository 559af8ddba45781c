/**
 * One check for every duration and count option of the library, run at
 * construction: a bad value fails where it is written, not as a 1 ms timer
 * or a record the loader refuses weeks later (issue 10, defect 2).
 */

/** The accepted values of one numeric option. */
export interface OptionRange {
  /** Smallest accepted value. */
  readonly min: number;
  /** Largest accepted finite value. Default: no bound. */
  readonly max?: number;
  /** Only whole numbers. Default false. */
  readonly isInteger?: boolean;
  /** `Infinity` is accepted and means "never" (no timer, no limit). Default false. */
  readonly allowsNever?: boolean;
  /** Shown after the range in messages, e.g. `ms`. */
  readonly unit?: string;
}

/** A duration in ms from 0 up; `Infinity` means never. Timers beyond 2^31-1 ms are re-armed, never clamped. */
export const DURATION_MS: OptionRange = Object.freeze({ min: 0, allowsNever: true, unit: 'ms' });
/** A whole count from 0 up; `Infinity` means no limit. */
export const COUNT: OptionRange = Object.freeze({ min: 0, isInteger: true, allowsNever: true });

/** The largest time a JavaScript Date holds (ms since the epoch); expiry options stay below it. */
export const MAX_DATE_MS = 8.64e15;

/**
 * A duration or count option is not a number in its accepted range.
 * Thrown at construction; the message names the option and the range.
 */
export class OptionRangeError extends RangeError {
  override readonly name = 'OptionRangeError';
  readonly code = 'ERR_OPTION_RANGE' as const;
  /** The option, e.g. `saveDebounceMs`. */
  readonly option: string;
  /** The accepted values, in words. */
  readonly range: string;

  constructor(option: string, range: string, got: unknown) {
    super(`${option} must be ${range}; got ${describeGot(got)}`);
    this.option = option;
    this.range = range;
  }
}

/** The accepted values of `range`, in words, e.g. "a number of ms from 0 up, or Infinity for never". */
export function describeRange(range: OptionRange): string {
  const kind = range.isInteger === true ? 'a whole number' : 'a number';
  const unit = range.unit === undefined ? '' : ` of ${range.unit}`;
  const span = range.max === undefined ? `from ${range.min} up` : `from ${range.min} to ${range.max}`;
  return `${kind}${unit} ${span}${range.allowsNever === true ? ', or Infinity for never' : ''}`;
}

/**
 * Returns `value`, or `fallback` when it is `undefined` or `null`; throws
 * OptionRangeError (`ERR_OPTION_RANGE`) for anything else outside `range`:
 * strings (even numeric ones), NaN, negative values, fractions where whole
 * numbers are asked, and Infinity where "never" makes no sense.
 */
export function numberOption(option: string, value: unknown, fallback: number, range: OptionRange): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !isInRange(value, range)) throw new OptionRangeError(option, describeRange(range), value);
  return value;
}

function isInRange(value: number, range: OptionRange): boolean {
  if (value === Infinity) return range.allowsNever === true;
  if (!Number.isFinite(value) || value < range.min) return false;
  if (range.max !== undefined && value > range.max) return false;
  return range.isInteger !== true || Number.isInteger(value);
}

/** Option values are configuration, never secrets: numbers are shown, other values by type. */
function describeGot(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  return typeof value === 'string' ? 'a string' : typeof value;
}
