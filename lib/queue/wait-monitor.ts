/**
 * Watches the waits of a SerialQueue, as the core's WaitObserver: the depth
 * warning, the wait warning while a task still waits, the debug line for a
 * slow wait, and the wait counters behind `metrics()`. Only runs that queue
 * behind another reach it, so the uncontended path reads no clock and arms
 * no timer.
 */
import type { QueueLogger } from '../support/logger.js';
import { timerDelay } from '../support/timers.js';
import type { WaitEnd, WaitObserver, WaitingLine } from './wait-hooks.js';

/** The clock is read at call time so jest's fake timers can drive it. */
const now = (): number => globalThis.performance.now();

/** Tasks waiting on a line: all but the one running, if one runs. */
const waitingOn = (line: WaitingLine<unknown>): number => (line.isRunning ? line.depth - 1 : line.depth);

export interface WaitThresholds {
  readonly depthWarningThreshold: number;
  readonly waitWarningMs: number;
  readonly slowWaitMs: number;
}


/** The waits on one key for one episode (until the key goes idle): FIFO, timer, once-per-episode flags. */
export class WaitList {
  readonly key: unknown;
  readonly monitor: WaitMonitor<unknown>;
  timer: ReturnType<typeof setTimeout> | undefined;
  hasWarnedDepth = false;
  hasWarnedWait = false;
  #oldest: Waiter | undefined;
  #newest: Waiter | undefined;

  constructor(key: unknown, monitor: WaitMonitor<unknown>) {
    this.key = key;
    this.monitor = monitor;
  }

  add(waiter: Waiter): void {
    if (this.#newest === undefined) this.#oldest = waiter;
    else this.#newest.next = waiter;
    this.#newest = waiter;
  }

  /** The longest-waiting run that still waits, dropping finished entries. */
  oldestWaiter(): Waiter | undefined {
    while (this.#oldest !== undefined && !this.#oldest.isWaiting) this.#oldest = this.#oldest.next;
    if (this.#oldest === undefined) this.#newest = undefined;
    return this.#oldest;
  }
}

/** A run that has not started yet, in its key's FIFO list; the core ends its wait once. */
class Waiter implements WaitEnd {
  isWaiting = true;
  next: Waiter | undefined = undefined;
  readonly #list: WaitList;

  constructor(
    list: WaitList,
    readonly enqueuedAt: number,
  ) {
    this.#list = list;
  }

  end(hasStarted: boolean): void {
    this.isWaiting = false;
    const list = this.#list;
    // The timer is only needed while someone waits (clearing none is a no-op).
    if (list.oldestWaiter() === undefined) {
      clearTimeout(list.timer);
      list.timer = undefined;
    }
    if (hasStarted) list.monitor.measure(list.key, now() - this.enqueuedAt);
  }
}

/** The core's observer; its per-key state (a WaitList) lives in the line's `watch` slot, one per episode. */
export class WaitMonitor<K> implements WaitObserver<K, WaitList> {
  // Each threshold in a field of its own: read on every wait, one load each.
  readonly #depthWarningThreshold: number;
  readonly #waitWarningMs: number;
  readonly #slowWaitMs: number;
  readonly #logger: QueueLogger;
  totalWaitTimeMs = 0;
  longestWaitMs = 0;
  queueDepthWarnings = 0;
  waitWarnings = 0;

  constructor(thresholds: WaitThresholds, logger: QueueLogger) {
    this.#depthWarningThreshold = thresholds.depthWarningThreshold;
    this.#waitWarningMs = thresholds.waitWarningMs;
    this.#slowWaitMs = thresholds.slowWaitMs;
    this.#logger = logger;
  }

  waitBegan(key: K, line: WaitingLine<WaitList>): WaitEnd {
    const waits = (line.watch ??= new WaitList(key, this as WaitMonitor<unknown>));
    const waiter = new Waiter(waits, now());
    waits.add(waiter);
    const depthWarningThreshold = this.#depthWarningThreshold;
    const waiting = waitingOn(line);
    if (waiting > depthWarningThreshold && !waits.hasWarnedDepth) {
      waits.hasWarnedDepth = true;
      this.queueDepthWarnings += 1;
      this.#log('warn', { key, depth: waiting, threshold: depthWarningThreshold }, `${waiting} tasks are waiting on one key (threshold ${depthWarningThreshold})`);
    }
    // At most one timer per key, and none once this episode's wait warning is given.
    if (waits.timer === undefined && !waits.hasWarnedWait) this.#armWaitTimer(key, line, waits);
    return waiter;
  }

  /** A waiter started after `waitedMs`. */
  measure(key: K, waitedMs: number): void {
    this.totalWaitTimeMs += waitedMs;
    this.longestWaitMs = Math.max(this.longestWaitMs, waitedMs);
    if (waitedMs > this.#slowWaitMs) this.#log('debug', { key, waitedMs }, 'task started after a slow wait');
  }

  /**
   * One timer per key, due when the oldest waiter reaches waitWarningMs. It is
   * not re-armed on every start: when it fires early for a waiter that has
   * since started, it re-arms for the new oldest one.
   */
  #armWaitTimer(key: K, line: WaitingLine<WaitList>, waits: WaitList): void {
    const oldest = waits.oldestWaiter();
    if (oldest === undefined) return;
    const waitWarningMs = this.#waitWarningMs;
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
          this.#armWaitTimer(key, line, waits);
          return;
        }
        waits.hasWarnedWait = true;
        this.waitWarnings += 1;
        this.#log('warn', { key, waitedMs, depth: waitingOn(line) }, `a task has waited ${Math.round(waitedMs)} ms on one key and has not started`);
      },
      delay,
    );
    // unref: a warning timer must never keep the process alive.
    waits.timer.unref();
  }

  #log(level: 'warn' | 'debug', fields: Record<string, unknown>, message: string): void {
    try {
      this.#logger[level](fields, message);
    } catch {
      // A throwing logger must never stall a chain: the lock matters more than the line.
    }
  }
}
