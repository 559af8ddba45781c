/**
 * Test tools for the SerialQueue suites: a logger that records what the
 * queue reports, a key holder, and fake timers that must leave no timer.
 * The general tools (deferred, drain, track) live in common.ts; they are
 * re-exported here for the suites that import them from this file.
 */
import type { QueueLogger, SerialQueue } from '../../lib/index.js';
import { deferred, drain, type Deferred } from './common.js';

export { deferred, drain, track, type Deferred } from './common.js';

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
