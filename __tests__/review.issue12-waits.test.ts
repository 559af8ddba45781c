/**
 * Outsider review of issue 12's queue change (plain-object chains, the wait
 * monitor's narrower FIFO bookkeeping): the depth and wait warnings, the
 * slow-wait debug line and the timers they leave, driven as a user would.
 */
import { SerialQueue } from '../lib/index.js';
import { deferred, drain, hold, recordingLogger, useFakeTimersLeavingNone } from './helpers/queue-harness.js';

useFakeTimersLeavingNone();

describe('review of issue 12: depth warning counts the tasks waiting (FR-1.4)', () => {
  // Review finding (review-12 #1), fixed since (TailChain.isRunning): the monitor computed
  // "waiting" as depth - 1, assuming one task runs.
  // Between a head settling and the next task starting, no task runs: the caller of the settled
  // head resumes in that window (by design, it resumes before the next task starts), and a run
  // it adds there is counted as depth - 1, one short. Three tasks wait, threshold 2: no warning.
  test('FR-1.4: a run added while the key is handed on counts every waiting task (none runs)', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, depthWarningThreshold: 2 });
    const gate = deferred();
    const started: string[] = [];
    const head = queue.run('k', () => gate.promise);
    await drain();
    const b = queue.run('k', () => void started.push('b'));
    const c = queue.run('k', () => void started.push('c'));
    expect(logger.of('warn')).toEqual([]);
    let seen: { started: string[]; depth: number } | undefined;
    let d: Promise<void> | undefined;
    const resumed = head.then(() => {
      // The head has settled and b has not started: b, c and d all wait.
      d = queue.run('k', () => void started.push('d'));
      seen = { started: [...started], depth: queue.depth('k') };
    });
    gate.resolve();
    await resumed;
    await Promise.all([b, c, d]);
    expect(seen).toEqual({ started: [], depth: 3 });
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', depth: 3, threshold: 2 }]);
  });

  test('FR-1.4: the count in the fields and in the text is the number waiting, not running plus waiting', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, depthWarningThreshold: 3 });
    const gate = await hold(queue);
    const runs = [1, 2, 3, 4].map(() => queue.run('k', () => undefined));
    expect(queue.depth('k')).toBe(5);
    expect(logger.of('warn')).toEqual([{ level: 'warn', fields: { key: 'k', depth: 4, threshold: 3 }, message: '4 tasks are waiting on one key (threshold 3)' }]);
    gate.resolve();
    await Promise.all(runs);
  });
});

describe('review of issue 12: wait warning for the oldest task still waiting (FR-1.4)', () => {
  test('FR-1.4: the oldest waiter aborts, a later one still waits: the warning comes when that one has waited waitWarningMs', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs: 1000 });
    const gate = await hold(queue);
    const abort = new AbortController();
    const first = queue.run('k', () => 'first', { signal: abort.signal });
    const firstOutcome = first.catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(100);
    const second = queue.run('k', () => 'second');
    await jest.advanceTimersByTimeAsync(400);
    abort.abort(new Error('gone'));
    expect(await firstOutcome).toEqual(new Error('gone'));
    await jest.advanceTimersByTimeAsync(599); // t = 1099: the second has waited 999 ms
    expect(logger.of('warn')).toEqual([]);
    await jest.advanceTimersByTimeAsync(1); // t = 1100
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 1000, depth: 1 }]);
    expect(logger.of('warn')[0]!.message).toBe('a task has waited 1000 ms on one key and has not started');
    expect(jest.getTimerCount()).toBe(0);
    gate.resolve();
    expect(await second).toBe('second');
    expect(queue.metrics()).toMatchObject({ waitWarnings: 1, pending: 0, activeKeys: 0 });
  });

  test('FR-1.4: waiters leaving out of order (newest first) keep the timer for the one still waiting, and none once all left', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs: 1000 });
    const gate = await hold(queue);
    const aborts = [new AbortController(), new AbortController(), new AbortController()];
    const runs = aborts.map((abort, i) => queue.run('k', () => i, { signal: abort.signal }).catch((error: unknown) => error));
    expect(jest.getTimerCount()).toBe(1);
    aborts[2]!.abort('c');
    aborts[1]!.abort('b');
    await drain();
    expect(jest.getTimerCount()).toBe(1); // the first still waits
    aborts[0]!.abort('a');
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c']);
    expect(jest.getTimerCount()).toBe(0);
    expect(queue.depth('k')).toBe(1);
    // A new waiter in the same episode gets its own full waitWarningMs.
    await jest.advanceTimersByTimeAsync(5000);
    const late = queue.run('k', () => 'late');
    await jest.advanceTimersByTimeAsync(999);
    expect(logger.of('warn')).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(logger.of('warn').map((entry) => entry.fields['waitedMs'])).toEqual([1000]);
    gate.resolve();
    expect(await late).toBe('late');
  });

  test('FR-1.4: once the wait warning is given, no timer is armed again this episode; the next episode warns again', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs: 50 });
    let gate = await hold(queue);
    const early = queue.run('k', () => undefined);
    await jest.advanceTimersByTimeAsync(50);
    expect(logger.of('warn')).toHaveLength(1);
    const more = [1, 2, 3].map(() => queue.run('k', () => undefined));
    expect(jest.getTimerCount()).toBe(0);
    gate.resolve();
    await Promise.all([early, ...more]);
    expect(queue.size).toBe(0);
    gate = await hold(queue);
    const next = queue.run('k', () => undefined);
    await jest.advanceTimersByTimeAsync(50);
    expect(logger.of('warn')).toHaveLength(2);
    gate.resolve();
    await next;
    expect(queue.metrics().waitWarnings).toBe(2);
  });

  test('FR-1.4: a wait warning timer does not outlive a key whose waiters all started before it was due', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs: 1000 });
    const keys = ['a', 'b', 'c'];
    const gates = [];
    for (const key of keys) gates.push(await hold(queue, key));
    const runs = keys.flatMap((key) => [queue.run(key, () => key), queue.run(key, () => key)]);
    expect(jest.getTimerCount()).toBe(3);
    await jest.advanceTimersByTimeAsync(999);
    for (const gate of gates) gate.resolve();
    await Promise.all(runs);
    expect(jest.getTimerCount()).toBe(0);
    expect(logger.of('warn')).toEqual([]);
  });
});

describe('review of issue 12: slow-wait debug lines and wait metrics (NFR-2)', () => {
  test('NFR-2: each wait longer than slowWaitMs gives one debug line with its exact wait; metrics add up', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, slowWaitMs: 100, waitWarningMs: Infinity });
    const gate = await hold(queue);
    const a = queue.run('k', () => 'a');
    await jest.advanceTimersByTimeAsync(60);
    const b = queue.run('k', () => 'b');
    await jest.advanceTimersByTimeAsync(90); // a waited 150, b 90
    expect(jest.getTimerCount()).toBe(0); // Infinity arms nothing
    gate.resolve();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(logger.of('debug')).toEqual([{ level: 'debug', fields: { key: 'k', waitedMs: 150 }, message: 'task started after a slow wait' }]);
    expect(queue.metrics()).toEqual({ activeKeys: 0, pending: 0, totalWaitTimeMs: 240, longestWaitMs: 150, queueDepthWarnings: 0, waitWarnings: 0 });
  });
});
