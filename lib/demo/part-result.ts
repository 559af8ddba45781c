import { errorCode } from '../files/fs-seam.js';

/** What one part of the demonstration measured. */
export interface PartResult {
  name: string;
  operations: number;
  /** Failed operations, counted by error code (`ERR_UNKNOWN` when an error had none). */
  failures: Record<string, number>;
  /** Files actually written (renamed into place). */
  writes: number;
  /** Time from a save's call to the moment it held the file's lock, in ms. */
  lockWait: { p50: number; p99: number; max: number } | undefined;
  wallMs: number;
  /** Whether this part's promise held; undefined for the part that shows the bug. */
  isOk: boolean | undefined;
  /** One line on what was checked. */
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

/** Nearest-rank percentiles of the given samples (ms); undefined when there are none. */
export function summariseWaits(samples: readonly number[]): PartResult['lockWait'] {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}
