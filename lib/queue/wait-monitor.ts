/**
 * Watches the waits of a SerialQueue, as the core's WaitObserver: the depth
 * warning, the wait warning while a task still waits, the debug line for a
 * slow wait, and the wait counters behind `metrics()`. Only runs that queue
 * behind another reach it, so the uncontended path reads no clock and arms
 * no timer.
 */
import type { QueueLogger } from '../support/logger.js';
import { timerDelay } from '../support/timers.js';
import type { WaitObserver, WaitingLine } from './wait-hooks.js';
import { now, WaitList } from './wait-list.js';

export { WaitList } from './wait-list.js';

export interface WaitThresholds {
  readonly depthWarningThreshold: number;
  readonly waitWarningMs: number;
  readonly slowWaitMs: number;
}


/** The core's observer; its per-key state (a WaitList, wait-list.ts) lives in the line's `watch` slot, one per episode. */
export class WaitMonitor<K> implements WaitObserver<K, WaitList> {
  readonly #thresholds: WaitThresholds;
  readonly #logger: QueueLogger;
  totalWaitTimeMs = 0;
  longestWaitMs = 0;
  queueDepthWarnings = 0;
  waitWarnings = 0;

  constructor(thresholds: WaitThresholds, logger: QueueLogger) {
    this.#thresholds = thresholds;
    this.#logger = logger;
  }

  waitBegan(key: K, line: WaitingLine<WaitList>): number {
    const waits = (line.watch ??= new WaitList(key));
    const ticket = waits.begin();
    const { depthWarningThreshold } = this.#thresholds;
    if (!waits.hasWarnedDepth && line.waiting > depthWarningThreshold) {
      waits.hasWarnedDepth = true;
      this.queueDepthWarnings += 1;
      this.#log('warn', { key, depth: line.waiting, threshold: depthWarningThreshold }, `${line.waiting} tasks are waiting on one key (threshold ${depthWarningThreshold})`);
    }
    this.#armWaitTimer(key, line, waits);
    return ticket;
  }

  waitEnded(key: K, line: WaitingLine<WaitList>, ticket: number, hasStarted: boolean): void {
    const waits = line.watch!;
    const waitedMs = waits.end(ticket, hasStarted);
    // The timer is only needed while someone waits.
    if (waits.timer !== undefined && waits.oldestSince() === undefined) {
      clearTimeout(waits.timer);
      waits.timer = undefined;
    }
    if (hasStarted) this.#measure(key, waitedMs);
  }

  /** A waiting run started after `waitedMs`. */
  #measure(key: K, waitedMs: number): void {
    this.totalWaitTimeMs += waitedMs;
    if (waitedMs > this.longestWaitMs) this.longestWaitMs = waitedMs;
    if (waitedMs > this.#thresholds.slowWaitMs) this.#log('debug', { key, waitedMs }, 'task started after a slow wait');
  }

  /**
   * One timer per key, due when the oldest waiter reaches waitWarningMs. It is
   * not re-armed on every start: when it fires early for a waiter that has
   * since started, it re-arms for the new oldest one.
   */
  #armWaitTimer(key: K, line: WaitingLine<WaitList>, waits: WaitList): void {
    if (waits.hasWarnedWait || waits.timer !== undefined) return;
    const oldest = waits.oldestSince();
    if (oldest === undefined) return;
    const { waitWarningMs } = this.#thresholds;
    // Infinity arms nothing; a delay past the timer limit fires early and re-arms below.
    const delay = timerDelay(oldest + waitWarningMs - now());
    if (delay === undefined) return;
    waits.timer = setTimeout(
      () => {
        waits.timer = undefined;
        const current = waits.oldestSince();
        if (current === undefined) return;
        const waitedMs = now() - current;
        if (waitedMs < waitWarningMs) {
          this.#armWaitTimer(key, line, waits);
          return;
        }
        waits.hasWarnedWait = true;
        this.waitWarnings += 1;
        this.#log('warn', { key, waitedMs, depth: line.waiting }, `a task has waited ${Math.round(waitedMs)} ms on one key and has not started`);
      },
      delay,
    );
    // unref: a warning timer must never keep the process alive.
    waits.timer.unref?.();
  }

  #log(level: 'warn' | 'debug', fields: Record<string, unknown>, message: string): void {
    try {
      this.#logger[level](fields, message);
    } catch {
      // A throwing logger must never stall a chain: the lock matters more than the line.
    }
  }
}
