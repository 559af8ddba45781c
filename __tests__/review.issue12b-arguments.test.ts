/**
 * Second outsider review of issue 12: SerialQueue.run's argument checks
 * (change 4). What an AbortSignal-shaped value can still do to the queue:
 * getters that throw while the shape is checked, a signal whose
 * addEventListener / removeEventListener misbehave once the run has to wait,
 * and real signals (AbortSignal.any, AbortSignal.timeout, EventTarget
 * subclasses) that must be accepted.
 */
import { SerialQueue } from '../lib/index.js';
import { deferred, drain } from './helpers/common.js';

/** Calls `run` and reports whether it threw synchronously, or how its promise settled. */
async function callRun(call: () => Promise<unknown>): Promise<string> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    return `threw synchronously: ${(error as Error).constructor.name}`;
  }
  try {
    return `resolved: ${String(await promise)}`;
  } catch (error) {
    return `rejected: ${(error as { code?: string }).code ?? (error as Error).constructor.name}`;
  }
}

describe('review 12b: run argument checks (FR-1.1, NFR-4)', () => {
  // Review finding (review-12b #1), fixed since: `options.signal` is read synchronously in run() (not an async
  // function): a throwing getter escapes run() as a synchronous throw instead of a rejection.
  test('FR-1.1: an options object whose signal getter throws makes run() reject, not throw', async () => {
    const queue = new SerialQueue<string>();
    let ran = false;
    const options = {
      get signal(): AbortSignal {
        throw new Error('getter fails');
      },
    };
    const outcome = await callRun(() => queue.run('k', () => (ran = true), options));
    expect(outcome).toBe('rejected: Error');
    expect(ran).toBe(false);
    expect(queue.size).toBe(0);
  });

  // Review finding (review-12b #1), fixed since: isAbortSignal reads `aborted`, whose AbortSignal.prototype getter
  // brand-checks `this`: Object.create(AbortSignal.prototype) makes run() throw a TypeError
  // synchronously instead of rejecting with InvalidArgumentError.
  test('FR-1.1: a signal made by Object.create(AbortSignal.prototype) rejects with ERR_INVALID_ARGUMENT, not a synchronous throw', async () => {
    const queue = new SerialQueue<string>();
    const bogus = Object.create(AbortSignal.prototype) as AbortSignal;
    const outcome = await callRun(() => queue.run('k', () => 1, { signal: bogus }));
    expect(outcome).toBe('rejected: ERR_INVALID_ARGUMENT');
    expect(queue.size).toBe(0);
  });

  // Review finding (review-12b #2), fixed since: review-12 #4 again, for a value that passes the shape check. The
  // listener is added (inside the exit's Promise executor) only once the run waits; when
  // addEventListener throws, the executor turns it into the caller's rejection, but the run
  // keeps its place in line and its task runs later: the caller is told it failed, yet it ran.
  test('FR-1.1: on a busy key, a shape-valid signal whose addEventListener throws never runs the task the caller saw rejected', async () => {
    const queue = new SerialQueue<string>();
    const gate = deferred();
    const head = queue.run('busy', () => gate.promise);
    let ran = false;
    // Passes isAbortSignal (boolean aborted, two functions), but EventTarget's methods brand-check `this`.
    const shaped = {
      aborted: false,
      addEventListener: EventTarget.prototype.addEventListener,
      removeEventListener: EventTarget.prototype.removeEventListener,
    } as unknown as AbortSignal;
    const outcome = callRun(() => queue.run('busy', () => (ran = true), { signal: shaped }));
    gate.resolve();
    await head;
    const seen = await outcome;
    await queue.onIdle();
    await drain();
    // The run left when the listener could not be added: rejected with that error, never run.
    expect({ seen, ran }).toEqual({ seen: 'rejected: ERR_INVALID_THIS', ran: false });
  });

  // Review finding (review-12b #3), fixed since: the first waiter's gate is made before chain.tail is set, and the
  // exit's addEventListener runs in between. A signal whose addEventListener calls run() on the
  // same key (an instrumented polyfill) makes a second "first waiter": it overwrites chain.wake,
  // so the outer run's gate never opens: it never runs, never settles, and the key stays live.
  test('FR-1.1, NFR-3: a run made on the same key from inside the signal\'s addEventListener does not strand the outer run', async () => {
    const queue = new SerialQueue<string>();
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    const order: string[] = [];
    const reentrant = {
      aborted: false,
      addEventListener(): void {
        void queue.run('k', () => order.push('inner'));
      },
      removeEventListener(): void {},
    } as unknown as AbortSignal;
    const outer = queue.run('k', () => order.push('outer'), { signal: reentrant });
    gate.resolve();
    for (let i = 0; i < 5; i += 1) await drain();
    expect(order).toEqual(['outer', 'inner']);
    await outer;
    expect(queue.size).toBe(0);
  });

  test('FR-1.1: a signal whose removeEventListener throws: the caller is rejected with that error and the task does not run (holds: consistent)', async () => {
    const queue = new SerialQueue<string>();
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    let ran = false;
    const failsOnRemove = {
      aborted: false,
      addEventListener(): void {},
      removeEventListener(): void {
        throw new Error('remove fails');
      },
    } as unknown as AbortSignal;
    const outcome = callRun(() => queue.run('k', () => (ran = true), { signal: failsOnRemove }));
    gate.resolve();
    expect(await outcome).toBe('rejected: Error');
    expect(ran).toBe(false);
    await queue.onIdle();
    expect(queue.size).toBe(0);
  });

  test('FR-1.3: AbortSignal.any, AbortSignal.timeout and an EventTarget subclass with an aborted field are accepted; the timeout leaves its wait (holds)', async () => {
    const queue = new SerialQueue<string>();
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    class Shaped extends EventTarget {
      aborted = false;
      reason: unknown = undefined;
    }
    const controller = new AbortController();
    const runs = Promise.allSettled([
      queue.run('k', () => 'any', { signal: AbortSignal.any([controller.signal]) }),
      queue.run('k', () => 'subclass', { signal: new Shaped() as unknown as AbortSignal }),
      queue.run('k', () => 'timeout', { signal: AbortSignal.timeout(1) }),
    ]);
    // Real time on purpose: AbortSignal.timeout uses Node's internal timer, not jest's fakes (bounded, 20 ms).
    await new Promise((resolve) => setTimeout(resolve, 20));
    gate.resolve();
    const settled = await runs;
    expect(settled.map((entry) => (entry.status === 'fulfilled' ? entry.value : (entry.reason as Error).name))).toEqual(['any', 'subclass', 'TimeoutError']);
    expect(queue.size).toBe(0);
  });

  test('NFR-4: the InvalidArgumentError for a bad task or signal names the type, never the value (holds)', async () => {
    const queue = new SerialQueue<string>();
    const secret = 'tok_SECRET_value_123';
    const errors: unknown[] = await Promise.all([
      queue.run('k', secret as unknown as () => number).catch((error: unknown) => error as Error & { code: string }),
      queue.run('k', () => 1, { signal: secret as unknown as AbortSignal }).catch((error: unknown) => error as Error & { code: string }),
      queue.run('k', () => 1, { signal: { aborted: secret } as unknown as AbortSignal }).catch((error: unknown) => error as Error & { code: string }),
    ]);
    for (const caught of errors) {
      const error = caught as Error & { code?: string };
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe('ERR_INVALID_ARGUMENT');
      expect(error.message).not.toContain('SECRET');
      expect(error.stack ?? '').not.toContain('SECRET');
    }
  });
});

describe('run argument checks: a signal needs all of its shape (FR-1.1, NFR-4)', () => {
  const listen = (): void => undefined;
  test.each([
    ['no removeEventListener', { aborted: false, addEventListener: listen }],
    ['no addEventListener', { aborted: false, removeEventListener: listen }],
    ['no boolean aborted', { aborted: 'no', addEventListener: listen, removeEventListener: listen }],
    ['null', null],
    ['a number', 7],
  ])('%s: refused with InvalidArgumentError naming options.signal, and the task never runs', async (_name, signal) => {
    const queue = new SerialQueue<string>();
    let ran = false;
    const outcome = queue.run('k', () => (ran = true), { signal: signal as unknown as AbortSignal });
    await expect(outcome).rejects.toMatchObject({
      name: 'InvalidArgumentError',
      code: 'ERR_INVALID_ARGUMENT',
      argument: 'options.signal',
      message: expect.stringMatching(/^options\.signal must be an AbortSignal; got /),
    });
    expect(ran).toBe(false);
    expect(queue.size).toBe(0);
  });

  test('a task that is not a function is refused naming task', async () => {
    const queue = new SerialQueue<string>();
    await expect(queue.run('k', 'not a task' as unknown as () => void)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      argument: 'task',
      message: 'task must be a function; got a string of 10 characters',
    });
  });
});
