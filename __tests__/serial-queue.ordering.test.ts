import { SerialQueue } from '../lib/index.js';
import { deferred, drain, track } from './helpers/common.js';

/** A few awaits of varying count, so tasks interleave with each other if allowed. */
async function yieldSome(times: number): Promise<void> {
  for (let i = 0; i < times; i += 1) await Promise.resolve();
}

afterEach(() => {
  jest.useRealTimers();
});

describe('SerialQueue mutual exclusion and order (FR-1.1, FR-1.2, FR-1.3)', () => {
  test('no two tasks on one key ever overlap, under 600 concurrent tasks with awaits inside', async () => {
    const queue = new SerialQueue();
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const inUse = new Map<string, boolean>(keys.map((key) => [key, false]));
    let overlaps = 0;
    let running = 0;
    let mostRunningAtOnce = 0;

    const runs = Array.from({ length: 600 }, (_, i) => {
      const key = keys[i % keys.length]!;
      return queue.run(key, async () => {
        if (inUse.get(key) === true) overlaps += 1;
        inUse.set(key, true);
        running += 1;
        mostRunningAtOnce = Math.max(mostRunningAtOnce, running);
        await yieldSome(1 + (i % 7));
        if (inUse.get(key) !== true) overlaps += 1;
        inUse.set(key, false);
        running -= 1;
        return i;
      });
    });

    expect(await Promise.all(runs)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(overlaps).toBe(0);
    // The probe can see overlap: tasks on different keys did run at the same time.
    expect(mostRunningAtOnce).toBeGreaterThan(1);
    expect(mostRunningAtOnce).toBeLessThanOrEqual(keys.length);
    expect(queue.size).toBe(0);
  });

  test('tasks on one key start in call order (FIFO), whatever each one does', async () => {
    const queue = new SerialQueue();
    const started: number[] = [];
    const runs = Array.from({ length: 300 }, (_, i) =>
      queue.run('k', async () => {
        started.push(i);
        await yieldSome(i % 5);
        if (i % 3 === 0) throw new Error(`task ${i} fails`);
        return i;
      }),
    );
    await Promise.allSettled(runs);
    expect(started).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  test('a task starts only after the previous task on its key has settled', async () => {
    const queue = new SerialQueue();
    const first = deferred<string>();
    const second = jest.fn(() => 'second');

    const firstRun = queue.run('k', () => first.promise);
    const secondRun = queue.run('k', second);
    await drain();
    expect(second).not.toHaveBeenCalled();

    first.resolve('first');
    await expect(firstRun).resolves.toBe('first');
    await expect(secondRun).resolves.toBe('second');
    expect(second).toHaveBeenCalledTimes(1);
  });

  test('a task waits for a previous task that rejects, and then runs', async () => {
    const queue = new SerialQueue();
    const first = deferred();
    const second = jest.fn(() => 'second');

    const firstRun = track(queue.run('k', () => first.promise));
    const secondRun = queue.run('k', second);
    await drain();
    expect(second).not.toHaveBeenCalled();

    first.reject(new Error('boom'));
    await expect(secondRun).resolves.toBe('second');
    expect(firstRun.outcome).toBe('rejected');
  });
});

describe('SerialQueue key independence (FR-2.1)', () => {
  test('a key blocked on a task that never settles does not hold up another key', async () => {
    const queue = new SerialQueue();
    const never = deferred();
    const blocked = track(queue.run('blocked', () => never.promise));
    const queuedBehind = track(queue.run('blocked', () => 'never runs'));

    await expect(queue.run('free', () => 'done')).resolves.toBe('done');
    await expect(queue.run('free', async () => 'again')).resolves.toBe('again');
    expect(blocked.isSettled).toBe(false);
    expect(queuedBehind.isSettled).toBe(false);
    expect(queue.depth('blocked')).toBe(2);
    expect(queue.depth('free')).toBe(0);
  });

  test('object keys are compared by identity, so equal-looking objects are separate keys', async () => {
    const queue = new SerialQueue<object>();
    const keyA = { file: 'x' };
    const keyB = { file: 'x' };
    const never = deferred();
    void queue.run(keyA, () => never.promise);

    await expect(queue.run(keyB, () => 'b')).resolves.toBe('b');
    expect(queue.depth(keyA)).toBe(1);
    expect(queue.depth(keyB)).toBe(0);
  });

  test('inherited names such as "__proto__" and "constructor" are ordinary string keys', async () => {
    const queue = new SerialQueue();
    const gate = deferred();
    const order: string[] = [];
    const first = queue.run('__proto__', async () => {
      await gate.promise;
      order.push('first');
    });
    const second = queue.run('__proto__', () => order.push('second'));
    expect(queue.depth('__proto__')).toBe(2);
    expect(queue.depth('constructor')).toBe(0);
    expect(queue.size).toBe(1);
    gate.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(queue.size).toBe(0);
  });

  test('number, NaN and string keys are separate unless equal as a Map sees them (SameValueZero)', async () => {
    const queue = new SerialQueue<unknown>();
    const never = deferred();
    void queue.run(Number.NaN, () => never.promise);
    void queue.run(1, () => never.promise);
    const behindNaN = track(queue.run(Number.NaN, () => 'nan'));
    await expect(queue.run('1', () => 'string one')).resolves.toBe('string one');
    await expect(queue.run(0, () => 'zero')).resolves.toBe('zero');
    await drain();
    expect(behindNaN.isSettled).toBe(false);
    expect(queue.depth(Number.NaN)).toBe(2);
    expect(queue.depth(1)).toBe(1);
    expect(queue.size).toBe(2);
  });
});

describe('SerialQueue run settles with the task outcome (NFR-8)', () => {
  test('run resolves with the very value the task returned', async () => {
    const queue = new SerialQueue();
    const value = { id: 1 };
    await expect(queue.run('k', () => value)).resolves.toBe(value);
    await expect(queue.run('k', async () => value)).resolves.toBe(value);
  });

  test('run adopts a plain thenable the task returns', async () => {
    const queue = new SerialQueue();
    const thenable: PromiseLike<number> = { then: (onFulfilled, onRejected) => Promise.resolve(7).then(onFulfilled, onRejected) };
    await expect(queue.run('k', () => thenable)).resolves.toBe(7);
  });

  test('run rejects with the very same reason object the task rejected with', async () => {
    const queue = new SerialQueue();
    const reason = new Error('disk full');
    const rejection = await queue.run('k', () => Promise.reject(reason)).catch((error: unknown) => error);
    expect(rejection).toBe(reason);
  });

  test('a non-Error rejection reason passes through unchanged', async () => {
    const queue = new SerialQueue();
    const reason = { code: 'EWEIRD' };
    await expect(queue.run('k', () => Promise.reject(reason))).rejects.toBe(reason);
    await expect(queue.run('k', () => Promise.reject(undefined))).rejects.toBeUndefined();
  });

  test('a synchronous throw becomes a rejection of run, not a throw from run', async () => {
    const queue = new SerialQueue();
    const reason = new Error('sync');
    let result: Promise<never> | undefined;
    expect(() => {
      result = queue.run('k', () => {
        throw reason;
      });
    }).not.toThrow();
    await expect(result).rejects.toBe(reason);
  });

  test('a failed task never blocks or fails the tasks after it', async () => {
    const queue = new SerialQueue();
    const outcomes = await Promise.allSettled([
      queue.run('k', () => Promise.reject(new Error('first fails'))),
      queue.run('k', () => {
        throw new Error('second throws');
      }),
      queue.run('k', () => 'third'),
      queue.run('k', async () => 'fourth'),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect(outcomes.slice(2)).toEqual([
      { status: 'fulfilled', value: 'third' },
      { status: 'fulfilled', value: 'fourth' },
    ]);
    expect(queue.size).toBe(0);
  });
});

describe('SerialQueue per-key bookkeeping cleans itself (NFR-3)', () => {
  test('depth counts the running task plus the waiting ones and returns to 0', async () => {
    const queue = new SerialQueue();
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate) => queue.run('k', () => gate.promise));
    expect(queue.depth('k')).toBe(3);
    expect(queue.size).toBe(1);

    gates[0]!.resolve();
    await runs[0];
    await drain();
    expect(queue.depth('k')).toBe(2);

    gates[1]!.resolve();
    gates[2]!.resolve();
    await Promise.all(runs);
    expect(queue.depth('k')).toBe(0);
    expect(queue.size).toBe(0);
  });

  test('the chain is kept while a newer task is queued, so a later task still waits (identity check)', async () => {
    const queue = new SerialQueue();
    const first = deferred();
    const second = deferred();
    let isSecondRunning = false;
    void queue.run('k', () => first.promise);
    const secondRun = queue.run('k', async () => {
      isSecondRunning = true;
      await second.promise;
      isSecondRunning = false;
    });
    first.resolve();
    await drain();
    expect(isSecondRunning).toBe(true);
    expect(queue.size).toBe(1);

    const third = jest.fn(() => {
      expect(isSecondRunning).toBe(false);
    });
    const thirdRun = queue.run('k', third);
    await drain();
    expect(third).not.toHaveBeenCalled();
    expect(queue.depth('k')).toBe(2);

    second.resolve();
    await Promise.all([secondRun, thirdRun]);
    expect(third).toHaveBeenCalledTimes(1);
    expect(queue.size).toBe(0);
  });

  test('a key used again after its chain drained serialises as before', async () => {
    const queue = new SerialQueue();
    await queue.run('k', () => 1);
    expect(queue.size).toBe(0);

    const gate = deferred();
    const order: string[] = [];
    const firstRun = queue.run('k', async () => {
      await gate.promise;
      order.push('first');
    });
    const secondRun = queue.run('k', () => void order.push('second'));
    await drain();
    expect(order).toEqual([]);
    expect(queue.depth('k')).toBe(2);
    gate.resolve();
    await Promise.all([firstRun, secondRun]);
    expect(order).toEqual(['first', 'second']);
    expect(queue.size).toBe(0);
  });
});

describe("SerialQueue runs made during a task's synchronous start (FR-1.2, NFR-3)", () => {
  test("a run made inside the first task's synchronous start stays the tail: a later run waits for it", async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const gate = deferred();
    let inner: Promise<void> | undefined;
    const first = queue.run('k', () => {
      inner = queue.run('k', async () => {
        order.push('inner start');
        await gate.promise;
        order.push('inner end');
      });
      order.push('first');
    });
    const later = queue.run('k', () => void order.push('later'));
    await drain();
    expect(order).toEqual(['first', 'inner start']);
    expect(queue.size).toBe(1);
    expect(queue.depth('k')).toBe(2);

    gate.resolve();
    await Promise.all([first, inner, later]);
    expect(order).toEqual(['first', 'inner start', 'inner end', 'later']);
    expect(queue.size).toBe(0);
  });
});

describe('SerialQueue hands a key on only after the caller has its outcome (FR-1.2, DESIGN invariant 6)', () => {
  // What a caller reads right after its run settles is still what its own task left: the next
  // task on the key has not started yet.
  test.each([
    ['fulfils', (): Promise<string> => Promise.resolve('done')],
    ['rejects', (): Promise<string> => Promise.reject(new Error('failed'))],
  ])('the first run %s: its caller resumes before the run waiting behind it starts', async (_, outcome) => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const gate = deferred();
    const first = queue.run('k', async () => {
      await gate.promise;
      return outcome();
    });
    const observed = first.then(
      () => order.push('first caller'),
      () => order.push('first caller'),
    );
    const second = queue.run('k', () => void order.push('second starts'));
    const third = queue.run('k', () => void order.push('third starts'));
    const secondObserved = second.then(() => order.push('second caller'));
    gate.resolve();
    await Promise.all([observed, secondObserved, third]);
    expect(order).toEqual(['first caller', 'second starts', 'second caller', 'third starts']);
  });
});
