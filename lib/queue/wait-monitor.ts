/**
 * Watches the waits of a SerialQueue: the depth warning, the wait warning
 * while a task still waits, the debug line for a slow wait, and the wait
 * counters behind `metrics()`. Only tasks that queue behind another reach it,
 * so the uncontended path reads no clock and arms no timer.
 */
import { WaitList, type KeyChain, type Waiter } from './key-chain.js';
import type { QueueLogger } from '../support/logger.js';
import { timerDelay } from '../support/timers.js';

/** The clock is read at call time so jest's fake timers can drive it. */
const now = (): number => globalThis.performance.now();

export interface WaitThresholds {
  readonly depthWarningThreshold: number;
  readonly waitWarningMs: number;
  readonly slowWaitMs: number;
}

export class WaitMonitor<K> {
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

  /** A task joins the queue behind another: depth warning, wait timer. */
  enqueue(key: K, chain: KeyChain): Waiter {
    const waits = (chain.waits ??= new WaitList());
    const waiter = waits.push(now());
    const { depthWarningThreshold } = this.#thresholds;
    if (!waits.hasWarnedDepth && chain.waiting > depthWarningThreshold) {
      waits.hasWarnedDepth = true;
      this.queueDepthWarnings += 1;
      this.#log(
        'warn',
        { key, depth: chain.waiting, threshold: depthWarningThreshold },
        `${chain.waiting} tasks are waiting on one key (threshold ${depthWarningThreshold})`,
      );
    }
    this.#armWaitTimer(key, chain, waits);
    return waiter;
  }

  /** A waiter's turn has come: its wait ends and is measured. */
  start(key: K, chain: KeyChain, waiter: Waiter): void {
    this.stopWaiting(chain.waits, waiter);
    const waitedMs = now() - waiter.enqueuedAt;
    this.totalWaitTimeMs += waitedMs;
    if (waitedMs > this.longestWaitMs) this.longestWaitMs = waitedMs;
    if (waitedMs > this.#thresholds.slowWaitMs) this.#log('debug', { key, waitedMs }, 'task started after a slow wait');
  }

  /** A waiter stops waiting: it started, or it was aborted. */
  stopWaiting(waits: WaitList | undefined, waiter: Waiter): void {
    waiter.isWaiting = false;
    // The timer is only needed while someone waits.
    if (waits !== undefined && waits.oldestWaiter() === undefined) waits.clearTimer();
  }

  /**
   * One timer per key, due when the oldest waiter reaches waitWarningMs. It is
   * not re-armed on every start: when it fires early for a waiter that has
   * since started, it re-arms for the new oldest one.
   */
  #armWaitTimer(key: K, chain: KeyChain, waits: WaitList): void {
    if (waits.hasWarnedWait || waits.timer !== undefined) return;
    const oldest = waits.oldestWaiter();
    if (oldest === undefined) return;
    const { waitWarningMs } = this.#thresholds;
    // Infinity arms nothing; a delay past the timer limit fires early and re-arms below.
    const delay = timerDelay(oldest.enqueuedAt + waitWarningMs - now());
    if (delay === undefined) return;
    waits.timer = setTimeout(
      () => {
        waits.timer = undefined;
        const current = waits.oldestWaiter();
        if (current === undefined) return;
        const waitedMs = now() - current.enqueuedAt;
        if (waitedMs < waitWarningMs) {
          this.#armWaitTimer(key, chain, waits);
          return;
        }
        waits.hasWarnedWait = true;
        this.waitWarnings += 1;
        this.#log('warn', { key, waitedMs, depth: chain.waiting }, `a task has waited ${Math.round(waitedMs)} ms on one key and has not started`);
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
