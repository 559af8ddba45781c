import { SerialQueue } from '../lib/index.js';
import { useFakeTimersLeavingNone } from './helpers/queue-harness.js';
import { deferred, drain, track } from './helpers/common.js';

useFakeTimersLeavingNone();

describe('SerialQueue onIdle (FR-4.1)', () => {
  test('resolves at once when nothing runs or waits', async () => {
    const queue = new SerialQueue();
    const idle = track(queue.onIdle());
    await drain();
    expect(idle.outcome).toBe('fulfilled');
  });

  test('waits for running and waiting tasks on every key', async () => {
    const queue = new SerialQueue();
    const gateA = deferred();
    const gateB = deferred();
    void queue.run('a', () => gateA.promise);
    void queue.run('a', () => undefined);
    void queue.run('b', () => gateB.promise);
    const idle = track(queue.onIdle());

    gateA.resolve();
    await drain();
    expect(idle.isSettled).toBe(false);
    gateB.resolve();
    await drain();
    expect(idle.outcome).toBe('fulfilled');
  });

  test('waits for tasks added while it waited, on the same and on new keys', async () => {
    const queue = new SerialQueue();
    const first = deferred();
    void queue.run('a', () => first.promise);
    const idle = track(queue.onIdle());

    const sameKey = deferred();
    const newKey = deferred();
    void queue.run('a', () => sameKey.promise);
    void queue.run('b', () => newKey.promise);
    first.resolve();
    await drain();
    expect(idle.isSettled).toBe(false);
    sameKey.resolve();
    await drain();
    expect(idle.isSettled).toBe(false);
    newKey.resolve();
    await drain();
    expect(idle.outcome).toBe('fulfilled');
  });

  test.each(['fulfils', 'rejects'] as const)('resolves only after the run promise of the last task has settled, when it %s', async (ending) => {
    const queue = new SerialQueue();
    const gate = deferred();
    const last = track(queue.run('k', () => gate.promise));
    const idle = queue.onIdle();
    if (ending === 'fulfils') gate.resolve();
    else gate.reject(new Error('last task fails'));
    await idle;
    expect(last.outcome).toBe(ending === 'fulfils' ? 'fulfilled' : 'rejected');
  });

  test('does not poll: no timer exists while it waits, and it needs no timer to resolve', async () => {
    const queue = new SerialQueue();
    const gate = deferred();
    void queue.run('a', () => gate.promise);
    void queue.run('b', () => gate.promise);
    const idle = track(queue.onIdle());
    await drain();
    expect(jest.getTimerCount()).toBe(0);

    gate.resolve();
    await drain();
    expect(idle.outcome).toBe('fulfilled');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('every caller waiting on onIdle is released, and a later call waits for the next tasks', async () => {
    const queue = new SerialQueue();
    const gate = deferred();
    void queue.run('a', () => gate.promise);
    const idles = [track(queue.onIdle()), track(queue.onIdle())];
    gate.resolve();
    await drain();
    expect(idles.map((idle) => idle.outcome)).toEqual(['fulfilled', 'fulfilled']);

    const next = deferred();
    void queue.run('a', () => next.promise);
    const later = track(queue.onIdle());
    await drain();
    expect(later.isSettled).toBe(false);
    next.resolve();
    await drain();
    expect(later.outcome).toBe('fulfilled');
  });
});

describe('SerialQueue lock state is private (NFR-5)', () => {
  test('no own property of a busy queue exposes chains, keys or counters', async () => {
    const queue = new SerialQueue();
    const gate = deferred();
    void queue.run('secret-file', () => gate.promise);
    void queue.run('secret-file', () => undefined);

    expect(Object.keys(queue)).toEqual([]);
    expect(Reflect.ownKeys(queue)).toEqual([]);
    expect(JSON.stringify(queue)).toBe('{}');
    expect(Object.getOwnPropertySymbols(queue)).toEqual([]);
    gate.resolve();
    await queue.onIdle();
  });

  test('the prototype offers only the public API', () => {
    expect(Reflect.ownKeys(SerialQueue.prototype).sort()).toEqual(['constructor', 'depth', 'metrics', 'onIdle', 'run', 'size']);
  });
});
