/**
 * Shared test tools for the SerialQueue suites: deferred promises for
 * hand-offs, a microtask drain that fake timers cannot intercept, and a
 * logger that records what the queue reports.
 */
import type { QueueLogger, SerialQueue } from '../../lib/index.js';

// Captured before any test installs fake timers, so it stays the real one.
const realSetImmediate = setImmediate;

/**
 * Lets every promise reaction that can run without a timer run: one real
 * macrotask turn drains the whole microtask queue, however deep the chain.
 */
export function drain(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface LogEntry {
  readonly level: 'warn' | 'debug';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A QueueLogger that keeps every call, for assertions on fields and counts. */
export function recordingLogger(): QueueLogger & { readonly entries: LogEntry[]; of(level: LogEntry['level']): LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    of: (level) => entries.filter((entry) => entry.level === level),
    warn: (fields, message) => void entries.push({ level: 'warn', fields: { ...fields }, message }),
    debug: (fields, message) => void entries.push({ level: 'debug', fields: { ...fields }, message }),
  };
}

/** Observes a promise's state without awaiting it. */
export function track<T>(promise: Promise<T>): { readonly isSettled: boolean; readonly outcome: 'pending' | 'fulfilled' | 'rejected' } {
  let outcome: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => (outcome = 'fulfilled'),
    () => (outcome = 'rejected'),
  );
  return {
    get isSettled() {
      return outcome !== 'pending';
    },
    get outcome() {
      return outcome;
    },
  };
}

/**
 * Holds `key` with a task that runs until the returned deferred settles. It
 * lets the task start first: the clock is fake, so time advanced before that
 * would count as the holder's own wait.
 */
export async function hold(queue: SerialQueue, key = 'k'): Promise<Deferred> {
  const gate = deferred();
  void queue.run(key, () => gate.promise);
  await drain();
  return gate;
}

/**
 * Fake timers for every test of the calling file, and the house check after
 * each: the test settled its work, so no timer (a wait warning, say) outlives it.
 */
export function useFakeTimersLeavingNone(): void {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    const timersLeft = jest.getTimerCount();
    jest.useRealTimers();
    jest.restoreAllMocks();
    expect(timersLeft).toBe(0);
  });
}
