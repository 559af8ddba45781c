/**
 * Edges of the queue core that an adversarial review tried and that held.
 * Thenables of every shape, nested runs from inside a task's synchronous
 * start (on the head and on a revived chain), re-entry across two detecting
 * queues and awkward keys. Each would fail if the promised behaviour broke.
 */
import { LockReentryError, SerialQueue } from '../lib/index.js';
import { deferred, drain, useFakeTimersLeavingNone } from './helpers/queue-harness.js';

useFakeTimersLeavingNone();

async function outcome(promise: Promise<unknown>): Promise<readonly [string, unknown]> {
  return promise.then(
    (value) => ['fulfilled', value] as const,
    (reason: unknown) => ['rejected', reason] as const,
  );
}

describe('thenables (FR-1, NFR-8)', () => {
  test('odd thenables give the caller their own outcome and never poison the chain', async () => {
    const queue = new SerialQueue();
    const boom = new Error('then getter');
    const twice = new Error('second call ignored');
    const getterThrows = { get then(): never { throw boom; } };
    const callsBoth = { then: (ok: (v: unknown) => void, fail: (e: unknown) => void): void => { ok('first'); fail(twice); } };
    const throwsAfterResolve = { then: (ok: (v: unknown) => void): void => { ok('kept'); throw new Error('ignored'); } };
    const nested = { then: (ok: (v: unknown) => void): void => ok({ then: (inner: (v: unknown) => void) => inner('deep') }) };
    const rejectsWithUndefined = { then: (_ok: unknown, fail: (e: unknown) => void): void => fail(undefined) };
    const order: string[] = [];
    const results = await Promise.all([
      outcome(queue.run('k', () => { order.push('1'); return getterThrows as unknown as PromiseLike<unknown>; })),
      outcome(queue.run('k', () => { order.push('2'); return callsBoth as PromiseLike<unknown>; })),
      outcome(queue.run('k', () => { order.push('3'); return throwsAfterResolve as PromiseLike<unknown>; })),
      outcome(queue.run('k', () => { order.push('4'); return nested as PromiseLike<unknown>; })),
      outcome(queue.run('k', () => { order.push('5'); return rejectsWithUndefined as PromiseLike<unknown>; })),
      outcome(queue.run('k', () => { order.push('6'); return 'last'; })),
    ]);
    expect(results).toEqual([
      ['rejected', boom],
      ['fulfilled', 'first'],
      ['fulfilled', 'kept'],
      ['fulfilled', 'deep'],
      ['rejected', undefined],
      ['fulfilled', 'last'],
    ]);
    expect(order).toEqual(['1', '2', '3', '4', '5', '6']);
    await drain();
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });

  test('a thenable that never calls back holds its key, and only its key', async () => {
    // No wait warning: the house check wants no timer left, and this key never drains.
    const queue = new SerialQueue({ waitWarningMs: Infinity });
    void queue.run('stuck', () => ({ then: (): void => undefined }) as PromiseLike<unknown>);
    const behind = jest.fn();
    void queue.run('stuck', behind);
    await expect(queue.run('other', () => 'free')).resolves.toBe('free');
    await drain();
    expect(behind).not.toHaveBeenCalled();
    expect([queue.depth('stuck'), queue.size, queue.metrics().pending]).toEqual([2, 1, 2]);
  });
});

describe('nested runs from inside a synchronous start (FR-1)', () => {
  test('several runs made inside the head\'s start, one aborted there, run in call order after it; counters exact at each point', async () => {
    const queue = new SerialQueue();
    const controller = new AbortController();
    const order: string[] = [];
    const inner: Promise<readonly [string, unknown]>[] = [];
    const gate = deferred();
    const depths: number[] = [];
    const head = queue.run('k', () => {
      inner.push(outcome(queue.run('k', () => void order.push('a'))));
      inner.push(outcome(queue.run('k', () => void order.push('b'), { signal: controller.signal })));
      inner.push(outcome(queue.run('k', () => void order.push('c'))));
      depths.push(queue.depth('k'));
      controller.abort('left');
      depths.push(queue.depth('k'));
      order.push('head');
      return gate.promise;
    });
    expect(depths).toEqual([4, 3]);
    expect(queue.metrics()).toMatchObject({ pending: 3, activeKeys: 1 });
    await drain();
    expect(order).toEqual(['head']);
    gate.resolve();
    await head;
    expect(await Promise.all(inner)).toEqual([
      ['fulfilled', undefined],
      ['rejected', 'left'],
      ['fulfilled', undefined],
    ]);
    expect(order).toEqual(['head', 'a', 'c']);
    await drain();
    expect(queue.metrics()).toMatchObject({ pending: 0, activeKeys: 0 });
  });

  test('a head that throws synchronously after nesting a run rejects its caller and the nested run still runs, after it', async () => {
    const queue = new SerialQueue();
    const boom = new Error('head');
    let nested: Promise<unknown> | undefined;
    const head = queue.run('k', () => {
      nested = queue.run('k', () => 'nested');
      throw boom;
    });
    await expect(head).rejects.toBe(boom);
    await expect(nested).resolves.toBe('nested');
    await drain();
    expect([queue.size, queue.depth('k')]).toEqual([0, 0]);
  });
});

describe('re-entry across two detecting queues (FR-2, detectReentry)', () => {
  test('holding a key in one queue never refuses it in the other; holding it through the other still refuses it', async () => {
    const first = new SerialQueue<unknown>({ detectReentry: true });
    const second = new SerialQueue<unknown>({ detectReentry: true });
    const key = { id: 1 };
    const result = await first.run(key, () =>
      second.run(key, async () => {
        const refused = await outcome(first.run(key, () => 'deadlock'));
        const other = await first.run({ id: 1 }, () => 'another object');
        return [refused[0], (refused[1] as LockReentryError).code, other];
      }),
    );
    expect(result).toEqual(['rejected', 'ERR_LOCK_REENTRY', 'another object']);
  });

  test('NaN, -0 against 0, "__proto__" and "constructor" are refused when held, and free once their task has settled', async () => {
    const queue = new SerialQueue<unknown>({ detectReentry: true });
    for (const [held, again] of [[Number.NaN, Number.NaN], [-0, 0], [0, -0], ['__proto__', '__proto__'], ['constructor', 'constructor']] as const) {
      const gate = deferred();
      let later: Promise<unknown> | undefined;
      const refused = await queue.run(held, async () => {
        later = gate.promise.then(() => queue.run(again, () => 'free'));
        return outcome(queue.run(again, () => 'deadlock'));
      });
      expect(refused[0]).toBe('rejected');
      expect((refused[1] as LockReentryError).code).toBe('ERR_LOCK_REENTRY');
      await drain();
      gate.resolve();
      await expect(later).resolves.toBe('free');
    }
    await drain();
    expect(queue.metrics()).toMatchObject({ pending: 0, activeKeys: 0 });
  });
});
