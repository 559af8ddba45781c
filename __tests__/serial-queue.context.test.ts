import { AsyncLocalStorage } from 'node:async_hooks';
import { LockReentryError, SerialQueue } from '../lib/index.js';
import { deferred, drain, track } from './helpers/common.js';

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

/** Runs `call` inside a task on `key`; reports whether it settled before the task ended. */
async function callFromInside<T, K = string>(queue: SerialQueue<K>, key: K, call: () => Promise<T>): Promise<{ outcome: string; reason?: unknown }> {
  return queue.run(key, async () => {
    const inner = call();
    const state = track(inner);
    await drain();
    if (state.outcome !== 'rejected') return { outcome: state.outcome };
    return { outcome: state.outcome, reason: await inner.catch((error: unknown) => error) };
  });
}

describe('SerialQueue re-entry with detectReentry (NFR-7)', () => {
  test('run on the same key from inside its own task rejects at once with ERR_LOCK_REENTRY', async () => {
    const queue = new SerialQueue({ detectReentry: true });
    const inner = jest.fn();
    const result = await callFromInside(queue, 'k', () => queue.run('k', inner));

    expect(result.outcome).toBe('rejected');
    expect(result.reason).toBeInstanceOf(LockReentryError);
    expect(result.reason).toMatchObject({ code: 'ERR_LOCK_REENTRY', name: 'LockReentryError', key: 'k' });
    expect(inner).not.toHaveBeenCalled();
    expect(queue.size).toBe(0);
  });

  test('a NaN key is re-entered like any other (keys compare as SameValueZero)', async () => {
    const queue = new SerialQueue<number>({ detectReentry: true });
    const result = await callFromInside(queue, Number.NaN, () => queue.run(Number.NaN, () => 'never'));
    expect(result.outcome).toBe('rejected');
    expect(result.reason).toMatchObject({ code: 'ERR_LOCK_REENTRY' });
    expect(queue.size).toBe(0);
  });

  test('run on another key from inside a task works', async () => {
    const queue = new SerialQueue({ detectReentry: true });
    const value = await queue.run('a', () => queue.run('b', () => 'from b'));
    expect(value).toBe('from b');
  });

  test('a key held further up the nesting is detected too', async () => {
    const queue = new SerialQueue({ detectReentry: true });
    let reason: unknown;
    await queue.run('a', () =>
      queue.run('b', async () => {
        reason = await queue.run('a', () => 'deadlock').catch((error: unknown) => error);
      }),
    );
    expect(reason).toMatchObject({ code: 'ERR_LOCK_REENTRY', key: 'a' });
  });

  test('a caller outside the holding task just waits for the key and is not flagged', async () => {
    const queue = new SerialQueue({ detectReentry: true });
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    const outside = queue.run('k', () => 'waited');
    await drain();
    gate.resolve();
    await expect(outside).resolves.toBe('waited');
  });

  test('a call from a timer callback that fires after the holding task settled is not flagged', async () => {
    // A real setImmediate: it carries the task's async context, which a fake timer would not.
    const queue = new SerialQueue({ detectReentry: true });
    const fired = deferred<{ later: Promise<string> }>();
    await queue.run('k', () => {
      setImmediate(() => fired.resolve({ later: queue.run('k', () => 'later') }));
    });
    const { later } = await fired.promise;
    await expect(later).resolves.toBe('later');
  });

  test('a call from a promise callback that runs after the holding task settled is not flagged', async () => {
    const queue = new SerialQueue({ detectReentry: true });
    const signal = deferred();
    let later: Promise<string> | undefined;
    await queue.run('k', () => {
      void signal.promise.then(() => {
        later = queue.run('k', () => 'later');
      });
    });
    signal.resolve();
    await drain();
    await expect(later).resolves.toBe('later');
  });

  test('detection is per queue: the same key on another queue is a different lock', async () => {
    const first = new SerialQueue({ detectReentry: true });
    const second = new SerialQueue({ detectReentry: true });
    await expect(first.run('k', () => second.run('k', () => 'other queue'))).resolves.toBe('other queue');
  });
});

describe('one re-entry store per process (NFR-3, NFR-7)', () => {
  test('every copy of the module uses the one store registered on the global object, so copies never add a store each', async () => {
    const registered = Symbol.for('session-store-mutex.reentry-holders');
    const copies: (typeof SerialQueue)[] = [];
    for (let copy = 0; copy < 2; copy += 1) {
      jest.isolateModules(() => {
        copies.push((jest.requireActual('../lib/index.js') as { SerialQueue: typeof SerialQueue }).SerialQueue);
      });
    }
    expect(copies[0]).not.toBe(copies[1]);
    const stores: unknown[] = [];
    for (const Queue of copies) {
      const queue = new Queue({ detectReentry: true });
      await queue.run('k', () => undefined);
      stores.push((globalThis as Record<symbol, unknown>)[registered]);
    }
    expect(stores[0]).toBeInstanceOf(AsyncLocalStorage);
    expect(stores[1]).toBe(stores[0]);
  });
});

describe('SerialQueue re-entry without detectReentry (NFR-7)', () => {
  test('a same-key call from inside a task is not rejected; it queues behind the task', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    let inner: Promise<void> | undefined;
    await queue.run('k', async () => {
      inner = queue.run('k', () => void order.push('inner'));
      await drain();
      order.push('outer');
    });
    await inner;
    expect(order).toEqual(['outer', 'inner']);
  });

  test('a default queue never calls AsyncLocalStorage, while a detecting queue does', async () => {
    const spies = (['run', 'enterWith', 'getStore', 'exit'] as const).map((method) => jest.spyOn(AsyncLocalStorage.prototype, method));
    const called = (): number => spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0);

    const plain = new SerialQueue();
    const gate = deferred();
    const controller = new AbortController();
    const runs = [plain.run('k', () => gate.promise), plain.run('k', () => 1), plain.run('other', async () => 2)];
    const aborted = plain.run('k', () => 3, { signal: controller.signal });
    controller.abort();
    gate.resolve();
    await Promise.all([...runs, aborted.catch(() => undefined), plain.onIdle()]);
    expect(called()).toBe(0);

    // Control: the spies do see a queue that tracks context.
    await new SerialQueue({ detectReentry: true }).run('k', () => undefined);
    expect(spies[0]!.mock.calls.length).toBeGreaterThan(0);
  });

  test('every detecting queue shares one AsyncLocalStorage, so many queues cost the process no more than one', async () => {
    // Node 20 keeps each store registered for good and its hook touches every new promise once per store.
    const run = jest.spyOn(AsyncLocalStorage.prototype, 'run');
    const queues = Array.from({ length: 5 }, () => new SerialQueue({ detectReentry: true }));
    await Promise.all(queues.map((queue, index) => queue.run(`k${index}`, () => index)));
    expect(run.mock.contexts).toHaveLength(5);
    expect(new Set(run.mock.contexts).size).toBe(1);
  });
});

describe("the caller's async context reaches the task (FR-3.1)", () => {
  test.each([
    ['without detectReentry', false],
    ['with detectReentry', true],
  ])('each queued task sees its own caller’s AsyncLocalStorage store, not the holder’s, %s', async (_label, detectReentry) => {
    const queue = new SerialQueue({ detectReentry });
    const store = new AsyncLocalStorage<string>();
    const gate = deferred();
    const seen: (string | undefined)[] = [];
    const task = async (): Promise<void> => {
      seen.push(store.getStore());
      await gate.promise;
      seen.push(store.getStore());
    };

    const runs = ['holder', 'waiter-1', 'waiter-2'].map((name) => store.run(name, () => queue.run('k', task)));
    runs.push(queue.run('k', () => void seen.push(store.getStore())));
    await drain();
    expect(queue.depth('k')).toBe(4);
    gate.resolve();
    await Promise.all(runs);
    expect(seen).toEqual(['holder', 'holder', 'waiter-1', 'waiter-1', 'waiter-2', 'waiter-2', undefined]);
  });
});

describe('SerialQueue re-entry with NaN keys (NFR-7)', () => {
  test.each([
    ['a NaN key', Number.NaN, 1],
    ['another key', 1, Number.NaN],
  ])('from inside a task holding %s, a run on a different key is not rejected', async (_, outer, inner) => {
    const queue = new SerialQueue<number>({ detectReentry: true });
    const value = await queue.run(outer, () => queue.run(inner, () => 'inner ran'));
    expect(value).toBe('inner ran');
    expect(queue.size).toBe(0);
  });
});

describe('LockReentryError messages name the key without dumping it (NFR-4, NFR-7)', () => {
  test.each([
    ['a string key, quoted', 'sessions.enc', '"sessions.enc"'],
    ['an object key, as [object]', { secret: 'never printed' }, '[object]'],
    ['null', null, 'null'],
    ['a number', 42, '42'],
    ['undefined', undefined, 'undefined'],
  ])('%s', (_, key, rendered) => {
    const error = new LockReentryError(key);
    expect(error.message).toBe(`run() re-entered key ${rendered} from a task that holds it; this would deadlock`);
    expect(error).toMatchObject({ name: 'LockReentryError', code: 'ERR_LOCK_REENTRY', key });
  });
});
