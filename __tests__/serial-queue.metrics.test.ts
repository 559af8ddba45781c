import { SerialQueue } from '../lib/index.js';
import { hold, recordingLogger, useFakeTimersLeavingNone } from './helpers/queue-harness.js';
import { deferred, drain } from './helpers/common.js';

useFakeTimersLeavingNone();

describe('SerialQueue metrics (NFR-2)', () => {
  test('wait times run from the run call to the task start and feed total and longest', async () => {
    const queue = new SerialQueue({ logger: recordingLogger() });
    const first = await hold(queue);
    const secondGate = deferred();
    const second = queue.run('k', () => secondGate.promise); // enqueued at 0
    jest.advanceTimersByTime(100);
    const third = queue.run('k', () => undefined); // enqueued at 100
    expect(queue.metrics()).toMatchObject({ activeKeys: 1, pending: 3 });

    jest.advanceTimersByTime(200);
    first.resolve(); // second starts at 300: waited 300
    await drain();
    jest.advanceTimersByTime(50);
    secondGate.resolve(); // third starts at 350: waited 250
    await Promise.all([second, third]);

    expect(queue.metrics()).toEqual({
      activeKeys: 0,
      pending: 0,
      totalWaitTimeMs: 550,
      longestWaitMs: 300,
      queueDepthWarnings: 0,
      waitWarnings: 0,
    });
  });

  test('activeKeys and pending count keys and tasks across the queue', async () => {
    const queue = new SerialQueue();
    const gates = [await hold(queue, 'a'), await hold(queue, 'b')];
    void queue.run('a', () => undefined);
    expect(queue.metrics()).toMatchObject({ activeKeys: 2, pending: 3 });
    for (const gate of gates) gate.resolve();
    await queue.onIdle();
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });

  test('metrics returns a snapshot that the caller cannot use to change the queue', () => {
    const queue = new SerialQueue();
    const snapshot = queue.metrics();
    snapshot.pending = 99;
    expect(queue.metrics().pending).toBe(0);
  });
});

describe('SerialQueue timers (NFR-3)', () => {
  test('an uncontended task arms no timer, neither before it starts nor while it runs', async () => {
    const queue = new SerialQueue();
    const setTimeoutSpy = jest.spyOn(globalThis, 'setTimeout');
    let timersWhileRunning = -1;
    const run = queue.run('k', async () => {
      await Promise.resolve();
      timersWhileRunning = jest.getTimerCount();
    });
    expect(jest.getTimerCount()).toBe(0);
    await run;
    expect(timersWhileRunning).toBe(0);
    expect(setTimeoutSpy).not.toHaveBeenCalled();
  });

  test('one timer per waiting key, cleared once no task waits, none left after onIdle', async () => {
    const queue = new SerialQueue({ logger: recordingLogger() });
    const gateA = await hold(queue, 'a');
    const gateB = await hold(queue, 'b');
    const runningGate = deferred();
    void queue.run('a', () => runningGate.promise);
    for (let i = 0; i < 20; i += 1) void queue.run('b', () => undefined);
    expect(jest.getTimerCount()).toBe(2);

    gateA.resolve(); // 'a' now runs its last task and has nobody waiting
    await drain();
    expect(queue.depth('a')).toBe(1);
    expect(jest.getTimerCount()).toBe(1);

    gateB.resolve();
    runningGate.resolve();
    await queue.onIdle();
    expect(jest.getTimerCount()).toBe(0);
  });
});
