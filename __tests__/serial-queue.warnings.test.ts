import { SerialQueue } from '../lib/index.js';
import { hold, recordingLogger, useFakeTimersLeavingNone } from './helpers/queue-harness.js';
import { deferred, drain, track } from './helpers/common.js';

useFakeTimersLeavingNone();

describe('SerialQueue depth warning (FR-1.4)', () => {
  test('ten waiting tasks give no warning; the eleventh gives exactly one, with key, depth and threshold', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const gate = await hold(queue);
    const waiting = Array.from({ length: 10 }, (_, i) => queue.run('k', () => i));
    expect(logger.of('warn')).toEqual([]);

    waiting.push(queue.run('k', () => 10));
    expect(logger.of('warn')).toHaveLength(1);
    expect(logger.of('warn')[0]!.fields).toEqual({ key: 'k', depth: 11, threshold: 10 });

    for (let i = 11; i < 40; i += 1) waiting.push(queue.run('k', () => i));
    expect(logger.of('warn')).toHaveLength(1);
    expect(queue.metrics().queueDepthWarnings).toBe(1);

    // Never rejects or blocks because of depth.
    gate.resolve();
    expect(await Promise.all(waiting)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  test('another depth warning comes only after the chain has drained', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, depthWarningThreshold: 2 });
    let gate = await hold(queue);
    const first = [1, 2, 3, 4].map(() => queue.run('k', () => undefined));
    expect(logger.of('warn')).toHaveLength(1);

    // The chain shrinks below the threshold and grows again without draining: still one.
    gate.resolve();
    await Promise.all(first.slice(0, 3));
    const refill = [1, 2, 3].map(() => queue.run('k', () => undefined));
    expect(logger.of('warn')).toHaveLength(1);
    await Promise.all([...first, ...refill]);
    await queue.onIdle();

    gate = await hold(queue);
    const second = [1, 2, 3].map(() => queue.run('k', () => undefined));
    expect(logger.of('warn')).toHaveLength(2);
    expect(logger.of('warn')[1]!.fields).toEqual({ key: 'k', depth: 3, threshold: 2 });
    expect(queue.metrics().queueDepthWarnings).toBe(2);
    gate.resolve();
    await Promise.all(second);
  });

  test('each key has its own depth episode', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, depthWarningThreshold: 1 });
    const gates = [await hold(queue, 'a'), await hold(queue, 'b')];
    for (const key of ['a', 'a', 'b', 'b']) void queue.run(key, () => undefined);
    expect(logger.of('warn').map((entry) => entry.fields['key'])).toEqual(['a', 'b']);
    for (const gate of gates) gate.resolve();
    await queue.onIdle();
  });
});

describe('SerialQueue wait warning (FR-1.4)', () => {
  test('fires at 5 s while the task still waits, not before, with key, waitedMs and depth', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const gate = await hold(queue);
    const task = jest.fn(() => 'late');
    const runPromise = queue.run('k', task);
    const run = track(runPromise);

    jest.advanceTimersByTime(4999);
    expect(logger.of('warn')).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(logger.of('warn')).toHaveLength(1);
    expect(logger.of('warn')[0]!.fields).toEqual({ key: 'k', waitedMs: 5000, depth: 1 });
    expect(queue.metrics().waitWarnings).toBe(1);

    // A warning only: the task still waits, nothing is released or rejected.
    await drain();
    expect(task).not.toHaveBeenCalled();
    expect(run.isSettled).toBe(false);
    expect(queue.depth('k')).toBe(2);

    gate.resolve();
    await expect(runPromise).resolves.toBe('late');
    expect(task).toHaveBeenCalledTimes(1);
  });

  test('warns at most once per key until its chain drains, then again in a new episode', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs: 1000 });
    let gate = await hold(queue);
    void queue.run('k', () => undefined);
    jest.advanceTimersByTime(1000);
    void queue.run('k', () => undefined);
    jest.advanceTimersByTime(60_000);
    expect(logger.of('warn')).toHaveLength(1);
    // Once the episode has warned, no timer stays armed for it.
    expect(jest.getTimerCount()).toBe(0);

    gate.resolve();
    await queue.onIdle();
    gate = await hold(queue);
    void queue.run('k', () => undefined);
    jest.advanceTimersByTime(1000);
    expect(logger.of('warn')).toHaveLength(2);
    expect(queue.metrics().waitWarnings).toBe(2);
    gate.resolve();
    await queue.onIdle();
  });

  test('is about a task that has not started: a waiter that starts in time does not trigger it', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const firstGate = await hold(queue);
    const secondGate = deferred();
    void queue.run('k', () => secondGate.promise); // waits from 0 ms
    jest.advanceTimersByTime(2000);
    void queue.run('k', () => undefined); // waits from 2000 ms

    jest.advanceTimersByTime(1000);
    firstGate.resolve(); // the first waiter starts at 3000 ms, before its 5 s
    await drain();
    jest.advanceTimersByTime(3999); // 6999 ms: the second waiter has waited 4999 ms
    expect(logger.of('warn')).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 5000, depth: 1 }]);

    secondGate.resolve();
    await queue.onIdle();
  });
});

describe('SerialQueue slow-wait debug line (NFR-2)', () => {
  test('a wait longer than 100 ms is reported with key and waitedMs when the task starts', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const gate = await hold(queue);
    const run = queue.run('k', () => undefined);

    jest.advanceTimersByTime(250);
    expect(logger.of('debug')).toEqual([]); // not while it waits
    gate.resolve();
    await run;
    expect(logger.of('debug').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 250 }]);
  });

  test('a wait of 100 ms is not reported and a wait of 101 ms is', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    for (const waitMs of [100, 101]) {
      const gate = await hold(queue);
      const run = queue.run('k', () => undefined);
      jest.advanceTimersByTime(waitMs);
      gate.resolve();
      await run;
    }
    expect(logger.of('debug').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 101 }]);
  });

  test('uncontended tasks produce no log line at all', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, slowWaitMs: 0 });
    for (let i = 0; i < 20; i += 1) await queue.run('k', () => i);
    expect(logger.entries).toEqual([]);
  });
});

describe('SerialQueue with a logger that throws', () => {
  test('a throwing logger does not stall the chain or fail any task', async () => {
    const logger = {
      warn: jest.fn(() => {
        throw new Error('logger down');
      }),
      debug: jest.fn(() => {
        throw new Error('logger down');
      }),
    };
    const queue = new SerialQueue({ logger, depthWarningThreshold: 1, waitWarningMs: 1000, slowWaitMs: 10 });
    const gate = await hold(queue);
    const runs = [1, 2, 3].map((i) => queue.run('k', () => i));
    jest.advanceTimersByTime(1000);
    gate.resolve();

    await expect(Promise.all(runs)).resolves.toEqual([1, 2, 3]);
    expect(logger.warn).toHaveBeenCalledTimes(2); // depth, then wait
    expect(logger.debug).toHaveBeenCalled();
    await queue.onIdle();
    expect(queue.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('SerialQueue log lines carry no task data (NFR-4)', () => {
  test('no warning or debug line contains a task value or rejection reason', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, depthWarningThreshold: 0, waitWarningMs: 10, slowWaitMs: 0 });
    const gate = await hold(queue);
    const runs = [
      queue.run('k', () => 'SECRET-VALUE'),
      queue.run('k', () => Promise.reject(new Error('SECRET-REASON'))).catch(() => undefined),
    ];
    jest.advanceTimersByTime(10);
    gate.resolve();
    await Promise.all(runs);
    expect(logger.entries.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(logger.entries)).not.toMatch(/SECRET/);
  });
});

describe('SerialQueue warning timers and texts (FR-1.4, NFR-2)', () => {
  test('the wait-warning timer is due exactly waitWarningMs after the oldest waiter arrived, and re-arms for the next one', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, waitWarningMs: 1000 });
    const gate = await hold(queue);
    const started = performance.now();
    const first = deferred();
    const firstRun = queue.run('k', () => first.promise);
    jest.advanceTimersByTime(400);
    void queue.run('k', () => undefined);

    expect(jest.getTimerCount()).toBe(1);
    gate.resolve();
    await drain(); // the first waiter starts at 400 ms; the second still waits
    jest.advanceTimersToNextTimer();
    expect(performance.now() - started).toBe(1000);
    expect(logger.of('warn')).toEqual([]);
    // Re-armed for the second waiter, who arrived at 400 ms: due at 1400 ms, not at once.
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersToNextTimer();
    expect(performance.now() - started).toBe(1400);
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 1000, depth: 1 }]);
    first.resolve();
    await firstRun;
    await queue.onIdle();
  });

  test('each line says what happened in words, with the numbers from its fields', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, depthWarningThreshold: 1, waitWarningMs: 2000, slowWaitMs: 10 });
    const gate = await hold(queue);
    const runs = [queue.run('k', () => 1), queue.run('k', () => 2)];
    jest.advanceTimersByTime(2000);
    gate.resolve();
    await Promise.all(runs);
    expect(logger.entries.map(({ level, message }) => [level, message])).toEqual([
      ['warn', '2 tasks are waiting on one key (threshold 1)'],
      ['warn', 'a task has waited 2000 ms on one key and has not started'],
      ['debug', 'task started after a slow wait'],
      ['debug', 'task started after a slow wait'],
    ]);
  });
});

describe('SerialQueue wait warning with several waiters (FR-1.4, NFR-2)', () => {
  test('with two tasks waiting, the warning times the older one', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const gate = await hold(queue);
    const runs: Promise<unknown>[] = [queue.run('k', () => 1)];
    jest.advanceTimersByTime(1000);
    runs.push(queue.run('k', () => 2));
    jest.advanceTimersByTime(3999);
    expect(logger.of('warn')).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 5000, depth: 2 }]);
    gate.resolve();
    await Promise.all(runs);
  });

  test('when the older waiter starts, the younger one still gets its warning on time', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const gate = await hold(queue);
    const second = deferred();
    const runs: Promise<unknown>[] = [queue.run('k', () => second.promise)];
    jest.advanceTimersByTime(1000);
    runs.push(queue.run('k', () => 2));
    jest.advanceTimersByTime(1000);
    gate.resolve();
    await drain(); // the older waiter starts and holds the key
    jest.advanceTimersByTime(3999);
    expect(logger.of('warn')).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 5000, depth: 1 }]);
    second.resolve();
    await Promise.all(runs);
  });

  test('a task that queues after every earlier waiter has started is timed too', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger });
    const gate = await hold(queue);
    const second = deferred();
    const runs: Promise<unknown>[] = [queue.run('k', () => second.promise)];
    gate.resolve();
    await drain(); // nobody waits now; the chain lives on
    runs.push(queue.run('k', () => 2));
    jest.advanceTimersByTime(5000);
    expect(logger.of('warn').map((entry) => entry.fields)).toEqual([{ key: 'k', waitedMs: 5000, depth: 1 }]);
    second.resolve();
    await Promise.all(runs);
  });

  test('an aborted waiter counts in no wait metric and gets no slow-wait line', async () => {
    const logger = recordingLogger();
    const queue = new SerialQueue({ logger, slowWaitMs: 10 });
    const gate = await hold(queue);
    const controller = new AbortController();
    const run = queue.run('k', () => 1, { signal: controller.signal });
    jest.advanceTimersByTime(500);
    controller.abort();
    await expect(run).rejects.toBe(controller.signal.reason);
    gate.resolve();
    await queue.onIdle();
    expect(queue.metrics()).toMatchObject({ totalWaitTimeMs: 0, longestWaitMs: 0 });
    expect(logger.of('debug')).toEqual([]);
  });
});
