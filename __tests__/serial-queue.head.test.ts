/**
 * The queue core's head path, as an adversarial review attacked it (commit ee6c345; the three
 * defects it found are fixed; the tests marked "Review finding" failed before): an idle
 * key's caller gets `result.then(passValue, passError)`, the first run to wait
 * goes behind the head's own promise (since then: behind a gate the head's
 * handlers open, `chain.wake`), and onIdle() resolves a tick after the last release.
 * Each test states the promise it attacks (README "SerialQueue", DESIGN §3).
 */
import { SerialQueue } from '../lib/index.js';
import { deferred, drain } from './helpers/common.js';

/** Every counter agrees with itself: a key is live exactly when a run on it counts. */
function consistent(queue: SerialQueue<unknown>, keys: readonly unknown[]): string | undefined {
  const depths = keys.map((key) => queue.depth(key));
  const busy = depths.filter((depth) => depth > 0).length;
  const total = depths.reduce((sum, depth) => sum + depth, 0);
  const { pending, activeKeys } = queue.metrics();
  if (pending === total && activeKeys === busy && queue.size === busy) return undefined;
  return `depths=${depths.join(',')} pending=${pending} activeKeys=${activeKeys} size=${queue.size}`;
}

/** Checks {@link consistent} after each of `ticks` microtask turns; returns what disagreed. */
async function probe(queue: SerialQueue<unknown>, keys: readonly unknown[], ticks = 40): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < ticks; i += 1) {
    const line = consistent(queue, keys);
    if (line !== undefined) seen.push(`tick ${i}: ${line}`);
    await Promise.resolve();
  }
  return seen;
}

type HeadEnding = readonly [string, () => unknown];

const failure = new Error('head failed');
const HEAD_ENDINGS: readonly HeadEnding[] = [
  ['returns a value', () => 'head'],
  ['throws synchronously', () => {
    throw failure;
  }],
  ['returns a resolved promise', () => Promise.resolve('head')],
  ['returns a rejected promise', () => Promise.reject(failure)],
  ['returns a thenable that calls back synchronously', () => ({ then: (ok: (v: string) => void) => ok('head') })],
  ['returns a thenable that rejects synchronously', () => ({ then: (_: unknown, fail: (e: unknown) => void) => fail(failure) })],
];

describe('FR-1.1/FR-1.2 runs made inside the head task\'s synchronous start', () => {
  test.each(HEAD_ENDINGS)('head %s: 4 runs queued inside it start in order, one at a time, each caller before the next task', async (_, ending) => {
    const queue = new SerialQueue();
    const order: string[] = [];
    let running = 0;
    const inner: Promise<unknown>[] = [];
    const task = (name: string) => async (): Promise<string> => {
      running += 1;
      order.push(`${name} starts (running ${running})`);
      await Promise.resolve();
      running -= 1;
      return name;
    };
    const head = queue.run('k', () => {
      order.push('head starts');
      for (const name of ['w1', 'w2', 'w3', 'w4']) {
        inner.push(queue.run('k', task(name)).then((value) => order.push(`${value} caller`)));
      }
      expect(queue.depth('k')).toBe(5);
      return ending();
    });
    const headSeen = head.then(
      () => order.push('head caller'),
      () => order.push('head caller'),
    );
    const later = queue.run('k', task('w5')).then((value) => order.push(`${value} caller`));
    await Promise.all([headSeen, later, ...inner]);
    expect(order).toEqual([
      'head starts',
      'head caller',
      'w1 starts (running 1)',
      'w1 caller',
      'w2 starts (running 1)',
      'w2 caller',
      'w3 starts (running 1)',
      'w3 caller',
      'w4 starts (running 1)',
      'w4 caller',
      'w5 starts (running 1)',
      'w5 caller',
    ]);
    expect(queue.size).toBe(0);
    expect(queue.metrics().pending).toBe(0);
  });

  test.each(HEAD_ENDINGS)('head %s: counters agree at every microtask while runs made inside it drain', async (_, ending) => {
    const queue = new SerialQueue<unknown>();
    const runs: Promise<unknown>[] = [];
    runs.push(
      queue.run('k', () => {
        runs.push(queue.run('k', () => Promise.resolve('w1')));
        runs.push(queue.run('other', () => {
          runs.push(queue.run('k', () => 'w2'));
          return 'o';
        }));
        return ending();
      }),
    );
    for (const run of runs) run.catch(() => undefined);
    expect(await probe(queue, ['k', 'other'])).toEqual([]);
    expect(queue.size).toBe(0);
  });

  test('nested deeper: a head on k1 starts a head on k2 that queues on k1 and k2; both keys stay FIFO and exclusive', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const runs = new Map<string, Promise<unknown>>();
    runs.set(
      'k1 head',
      queue.run('k1', () => {
        order.push('k1 head');
        runs.set(
          'k2 head',
          queue.run('k2', () => {
            order.push('k2 head');
            runs.set('k1 second', queue.run('k1', () => void order.push('k1 second')));
            runs.set('k2 second', queue.run('k2', () => void order.push('k2 second')));
            throw failure;
          }),
        );
        runs.set('k1 third', queue.run('k1', () => void order.push('k1 third')));
        return Promise.reject(failure);
      }),
    );
    const names = [...runs.keys()].sort();
    const outcomes = await Promise.allSettled(names.map((name) => runs.get(name)));
    expect(Object.fromEntries(names.map((name, i) => [name, outcomes[i]!.status]))).toEqual({
      'k1 head': 'rejected',
      'k1 second': 'fulfilled',
      'k1 third': 'fulfilled',
      'k2 head': 'rejected',
      'k2 second': 'fulfilled',
    });
    expect(order.filter((line) => line.startsWith('k1'))).toEqual(['k1 head', 'k1 second', 'k1 third']);
    expect(order.filter((line) => line.startsWith('k2'))).toEqual(['k2 head', 'k2 second']);
    expect(queue.size).toBe(0);
  });

  test('a run made inside the sync start of a revived chain (released a tick before) waits for that head only', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    await queue.run('k', () => 'first episode');
    expect(queue.size).toBe(0);
    const gate = deferred<string>();
    const head = queue.run('k', () => {
      order.push('head');
      void queue.run('k', () => void order.push('inner'));
      return gate.promise;
    });
    await drain();
    expect(order).toEqual(['head']);
    gate.resolve('done');
    await expect(head).resolves.toBe('done');
    await queue.onIdle();
    expect(order).toEqual(['head', 'inner']);
  });
});

describe('NFR-8 the caller gets the task\'s own outcome on the head path', () => {
  test.each([
    ['an object', { big: 1 }],
    ['undefined', undefined],
    ['a function', (): number => 1],
  ])('fulfils with the very value (%s), also behind a head started inside another head', async (_, value) => {
    const queue = new SerialQueue();
    let inner: Promise<unknown> | undefined;
    const head = queue.run('k', () => {
      inner = queue.run('k', () => Promise.resolve(value));
      return value;
    });
    expect(await head).toBe(value);
    expect(await inner).toBe(value);
  });

  test.each([
    ['an Error', new Error('x')],
    ['undefined', undefined],
    ['null', null],
    ['a rejected-promise object', { then: undefined }],
  ])('rejects with the very reason (%s), thrown or returned, on the head and behind it', async (_, reason) => {
    const queue = new SerialQueue();
    const caught: unknown[] = [];
    const catchIt = (error: unknown): void => void caught.push(error);
    await queue
      .run('k', () => {
        void queue.run('k', () => Promise.reject(reason)).catch(catchIt);
        throw reason;
      })
      .catch(catchIt);
    await queue.run('k', () => Promise.reject(reason)).catch(catchIt);
    expect(caught).toHaveLength(3);
    for (const error of caught) expect(error).toBe(reason);
  });

  test('a thenable whose then getter throws is a rejection of run with that error, and the key is released', async () => {
    const queue = new SerialQueue();
    const error = new Error('getter');
    const hostile = Object.defineProperty({}, 'then', {
      get() {
        throw error;
      },
    });
    await expect(queue.run('k', () => hostile)).rejects.toBe(error);
    expect(queue.size).toBe(0);
  });

  test('a thenable that calls both callbacks many times settles the run once, with its first outcome', async () => {
    const queue = new SerialQueue();
    const thenable = {
      then(ok: (v: string) => void, fail: (e: unknown) => void): void {
        ok('first');
        fail(new Error('late'));
        ok('second');
      },
    };
    const order: string[] = [];
    const head = queue.run('k', () => thenable as unknown as PromiseLike<string>);
    const next = queue.run('k', () => void order.push('next'));
    await expect(head).resolves.toBe('first');
    await next;
    expect(order).toEqual(['next']);
    expect(queue.metrics().pending).toBe(0);
    expect(queue.size).toBe(0);
  });
});

describe('DESIGN invariant 6: ordering on the head path', () => {
  test.each([true, false])('detectReentry %s: the head\'s caller reads depth 0 and size 0 right after await run()', async (detectReentry) => {
    const queue = new SerialQueue({ detectReentry });
    await queue.run('k', () => Promise.resolve(1));
    expect([queue.depth('k'), queue.size, queue.metrics().pending]).toEqual([0, 0, 0]);
    await queue.run('k', () => Promise.reject(failure)).catch(() => undefined);
    expect([queue.depth('k'), queue.size, queue.metrics().pending]).toEqual([0, 0, 0]);
  });

  test.each([true, false])('detectReentry %s: with one waiter, the head\'s caller reads depth 1 and the waiter has not started', async (detectReentry) => {
    const queue = new SerialQueue({ detectReentry });
    let started = false;
    const head = queue.run('k', () => Promise.resolve(1));
    const waiter = queue.run('k', () => {
      started = true;
    });
    await head;
    expect([queue.depth('k'), queue.size, started]).toEqual([1, 1, false]);
    await waiter;
    expect([queue.depth('k'), queue.size, started]).toEqual([0, 0, true]);
  });

  test.each([
    ['a lone head', 0, false],
    ['a head and two waiters', 2, false],
    ['a head and two waiters with live signals', 2, true],
  ] as const)('FR-4.1 onIdle() callers resume after the last run\'s caller, with %s', async (_, waiters, withSignal) => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const signal = withSignal ? new AbortController().signal : undefined;
    const gate = deferred();
    const runs = [queue.run('k', () => gate.promise)];
    for (let i = 0; i < waiters; i += 1) runs.push(queue.run('k', () => undefined, { signal }));
    const last = runs.at(-1)!;
    void last.then(() => order.push('last caller'));
    void queue.onIdle().then(() => order.push('onIdle'));
    gate.resolve();
    await queue.onIdle();
    await drain();
    expect(order).toEqual(['last caller', 'onIdle']);
  });

  test('FR-4.1 onIdle() asked for inside the last caller\'s continuation, after it starts a new run, waits for that run', async () => {
    const queue = new SerialQueue();
    const gate = deferred();
    let resolved = false;
    await queue.run('k', () => 'done');
    void queue.run('k', () => gate.promise);
    void queue.onIdle().then(() => (resolved = true));
    await drain();
    expect(resolved).toBe(false);
    gate.resolve();
    await drain();
    expect(resolved).toBe(true);
  });
});

describe('FR-1 aborts around the head path', () => {
  test('a first waiter made and aborted inside the head\'s sync start (before its gate\'s tick) never runs; a revival right after starts inside run()', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const controller = new AbortController();
    let left: Promise<unknown> | undefined;
    const head = queue.run('k', () => {
      left = queue.run('k', () => void order.push('left ran'), { signal: controller.signal });
      controller.abort(new Error('gone'));
      expect(queue.depth('k')).toBe(1);
      return 'head';
    });
    await expect(left).rejects.toThrow('gone');
    await head;
    expect([queue.depth('k'), queue.size]).toEqual([0, 0]);
    let started = false;
    const revived = queue.run('k', () => {
      started = true;
      return 'revived';
    });
    expect(started).toBe(true);
    await expect(revived).resolves.toBe('revived');
    await drain();
    expect(order).toEqual([]);
    expect(queue.size).toBe(0);
  });

  test('the first waiter aborted while the head runs: the second waiter still waits for the head', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const gate = deferred();
    const controller = new AbortController();
    void queue.run('k', async () => {
      await gate.promise;
      order.push('head ends');
    });
    const left = queue.run('k', () => void order.push('left ran'), { signal: controller.signal });
    const second = queue.run('k', () => void order.push('second'));
    controller.abort();
    await expect(left).rejects.toBeDefined();
    await drain();
    expect(order).toEqual([]);
    gate.resolve();
    await second;
    expect(order).toEqual(['head ends', 'second']);
  });

  // Review finding, fixed since (tail-queue.ts #wait, leave()): a waiting run that leaves once the run ahead of it has
  // already settled (its gate not yet open) uncounts itself but does not release the key: for a
  // few microtasks depth is 0 and pending 0 while size/activeKeys is 1, onIdle() is pending, and
  // a run made then waits (measured as a wait) instead of starting inside run(). The earlier fix
  // (serial-queue.review "only aborted runs behind it") covers an abort made while the head runs.
  // Not new in ee6c345: the same happens at ce12509 (checked against a build of that commit).
  test('FR-1/FR-4.1 the only waiter aborted by the head\'s caller, before its gate opens, leaves the key idle at once', async () => {
    const queue = new SerialQueue();
    const controller = new AbortController();
    const head = queue.run('k', () => 'head');
    const left = queue.run('k', () => 'never', { signal: controller.signal });
    left.catch(() => undefined);
    await head;
    expect(queue.depth('k')).toBe(1);
    controller.abort();
    const after = { depth: queue.depth('k'), pending: queue.metrics().pending, size: queue.size };
    let started = false;
    const next = queue.run('k', () => {
      started = true;
    });
    expect({ ...after, started }).toEqual({ depth: 0, pending: 0, size: 0, started: true });
    await next;
  });

  test('detectReentry: a run on the key made inside the head\'s sync start is rejected with LockReentryError and the head is unharmed', async () => {
    const queue = new SerialQueue({ detectReentry: true });
    let inner: Promise<unknown> | undefined;
    const head = queue.run('k', () => {
      inner = queue.run('k', () => 'inner');
      return 'head';
    });
    await expect(inner).rejects.toMatchObject({ code: 'ERR_LOCK_REENTRY' });
    await expect(head).resolves.toBe('head');
    expect(queue.size).toBe(0);
  });
});

describe('FR-2.1 object, NaN and -0 keys on the head path', () => {
  test.each([
    ['NaN', NaN, NaN],
    ['-0 and 0', -0, 0],
    ['an object', {}, undefined],
  ])('%s: a run inside the head\'s sync start on the same key waits; counters agree', async (_, key, same) => {
    const queue = new SerialQueue<unknown>();
    const other = same === undefined ? key : same;
    const order: string[] = [];
    const head = queue.run(key, () => {
      void queue.run(other, () => void order.push('inner'));
      expect(queue.depth(key)).toBe(2);
      order.push('head');
      return Promise.resolve();
    });
    await head;
    expect(order).toEqual(['head']);
    await queue.onIdle();
    expect(order).toEqual(['head', 'inner']);
    expect(queue.size).toBe(0);
  });
});

describe('FR-1.1 a head task returning a native promise with its own `then`', () => {
  // Review finding, fixed since (tail-queue.ts #start, `result.then(passValue, passError)`; now the built-in then):
  // `invoke` hands a native promise back as is (Promise.resolve returns it), so the core calls that
  // object's own `then`. One that reports twice (a buggy instrumentation wrapper, say) settles the
  // head twice: depth and pending go negative and the key is released while the run behind the
  // head still runs, so the next run starts beside it. A run that waits is safe (its outcome adopts
  // the promise through once-only resolving functions). Not new in ee6c345: ce12509 does the same.
  test('a then that calls back twice never lets two tasks of one key run at once, nor the counters go negative', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const twice = Promise.resolve('head');
    const nativeThen = Promise.prototype.then;
    Object.defineProperty(twice, 'then', {
      value(this: Promise<string>, ok?: (v: string) => unknown, fail?: (e: unknown) => unknown): Promise<unknown> {
        const derived = nativeThen.call(this, ok, fail);
        nativeThen.call(this, ok, fail);
        return derived;
      },
    });
    const gate = deferred();
    const head = queue.run('k', () => twice);
    const second = queue.run('k', async () => {
      order.push('second starts');
      await gate.promise;
      order.push('second ends');
    });
    await head;
    await drain();
    const third = queue.run('k', () => void order.push('third starts'));
    gate.resolve();
    await Promise.all([second, third]);
    expect({ order, pending: queue.metrics().pending, size: queue.size }).toEqual({
      order: ['second starts', 'second ends', 'third starts'],
      pending: 0,
      size: 0,
    });
  });
});

describe('NFR-3/FR-1.1 the reclaiming pass while stale links of a released key are pending', () => {
  test('a key released with an aborted run behind it, reclaimed by 1,100 other releases, then revived: runs inside run(), counters exact', async () => {
    const queue = new SerialQueue();
    const gate = deferred();
    const head = queue.run('k', () => gate.promise);
    const controller = new AbortController();
    const left = queue.run('k', () => 'never', { signal: controller.signal });
    left.catch(() => undefined);
    controller.abort();
    // Over RECLAIM_AFTER runs that release in the same turn as 'k': a pass runs, 'k' idle among them.
    const others = Array.from({ length: 1100 }, (_, i) => queue.run(`other-${i}`, () => gate.promise));
    gate.resolve();
    await head;
    let started = false;
    const hold = deferred();
    const revived = queue.run('k', async () => {
      started = true;
      await hold.promise;
      return 'revived';
    });
    expect(started).toBe(true);
    let isBehindStarted = false;
    const behind = queue.run('k', () => {
      isBehindStarted = true;
      return 'behind';
    });
    // The aborted run's stale link settles meanwhile: it must neither start 'behind' nor uncount.
    await drain();
    expect([queue.depth('k'), isBehindStarted]).toEqual([2, false]);
    hold.resolve();
    await expect(revived).resolves.toBe('revived');
    await expect(behind).resolves.toBe('behind');
    await Promise.all(others);
    expect([queue.size, queue.metrics().pending]).toEqual([0, 0]);
  });

  test('one key released and revived 5,000 times among 3,000 others keeps FIFO and a clean count', async () => {
    const queue = new SerialQueue();
    const order: number[] = [];
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 5000; i += 1) {
      runs.push(queue.run('hot', () => void order.push(i)));
      if (i % 5 === 0) runs.push(queue.run(`cold-${i}`, () => Promise.resolve(i)));
      if (i % 7 === 0) await Promise.resolve();
      if (i % 11 === 0) await drain();
    }
    await Promise.all(runs);
    expect(order).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect([queue.size, queue.metrics().pending, queue.depth('hot')]).toEqual([0, 0, 0]);
  });
});
