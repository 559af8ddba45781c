import type { QueueLogger } from '../support/logger.js';

/**
 * A queue logger that records every lock wait. Used with `slowWaitMs: 0`, the
 * queue reports each wait longer than 0 ms through `debug`, which is exactly
 * the sample the demonstration's percentiles need. Warnings are counted.
 */
export class WaitRecorder implements QueueLogger {
  readonly samples: number[] = [];
  warnings = 0;

  warn(): void {
    this.warnings += 1;
  }

  debug(fields: Record<string, unknown>): void {
    if (typeof fields.waitedMs === 'number') this.samples.push(fields.waitedMs);
  }

  /** The samples padded with zeros for the waits that were too short to report. */
  waits(tasks: number): number[] {
    return [...this.samples, ...Array.from({ length: Math.max(0, tasks - this.samples.length) }, () => 0)];
  }
}
