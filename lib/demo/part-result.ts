import { errorCode } from '../files/fs-seam.js';

/** Lock-wait percentiles of one part, in ms. */
export interface LockWait {
  p50: number;
  p99: number;
  max: number;
}

/**
 * What one part of the demonstration measured. Every part has every field
 * (JSON consumers need no special case): `lockWait` is null where there is no
 * lock, and `isOk` says whether the part's data held, also for the old recipe.
 */
export interface PartResult {
  /** Stable id: `old-recipe`, `library` or `stores`. */
  id: string;
  /** Short label for the table. */
  name: string;
  /** Operations started: saves, or for the stores every change. */
  operations: number;
  /** Operations that rejected. */
  failed: number;
  /** The same, counted by error code (`ERR_UNKNOWN` when an error had none). */
  failures: Record<string, number>;
  /** Files actually written (renamed into place). */
  writes: number;
  /** Time from a save's call to the moment it held the file's lock; null when there is no lock. */
  lockWait: LockWait | null;
  wallMs: number;
  /** Whether every operation succeeded and the data on disk is what it should be. */
  isOk: boolean;
  /** Whether `isOk` counts toward the exit code: false for the old recipe, which is there to fail. */
  isExpectedToHold: boolean;
  /** One sentence on what was checked. */
  detail: string;
}

/** Counts rejected outcomes by their error `code`. */
export function countFailures(outcomes: readonly PromiseSettledResult<unknown>[]): Record<string, number> {
  const failures: Record<string, number> = {};
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') continue;
    const code = errorCode(outcome.reason) ?? 'ERR_UNKNOWN';
    failures[code] = (failures[code] ?? 0) + 1;
  }
  return failures;
}

/** The total of a failures-by-code record. */
export function totalOf(failures: Readonly<Record<string, number>>): number {
  return Object.values(failures).reduce((sum, count) => sum + count, 0);
}

/** Nearest-rank percentiles of the given samples (ms); null when there are none. */
export function summariseWaits(samples: readonly number[]): LockWait | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

/** Milliseconds for people: whole numbers from 100 up, one decimal below. */
export function formatMs(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}
