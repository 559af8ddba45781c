/**
 * Outsider review of issue 12's queue: hostile input from JavaScript (tasks
 * that are not functions, odd thenables, promises with a `then` of their
 * own), odd keys, two queues and many fresh queues in one process (the
 * plain-object chain change is about that), and a fast-check model of
 * FIFO, one-at-a-time, abort and the exact counters against a reference.
 */
import fc from 'fast-check';
import { LockReentryError, SerialQueue } from '../lib/index.js';
import { deferred, drain, type Deferred } from './helpers/common.js';

/** A native promise resolved with 'real' whose own `then` reports `reported` or, for undefined, never calls back. */
function promiseWithOwnThen(reported: string | undefined): Promise<string> {
  const promise = Promise.resolve('real');
  Object.defineProperty(promise, 'then', {
    value(this: Promise<string>, onValue?: (value: string) => unknown) {
      if (reported !== undefined) onValue?.(reported);
      return this;
    },
  });
  return promise;
}

describe('review of issue 12: hostile tasks (FR-1.1, NFR-8)', () => {
  test('FR-1.1: non-function tasks and odd thenables reject or settle once, and never poison the key', async () => {
    const queue = new SerialQueue<string>();
    const twice = (): PromiseLike<number> => ({
      then(onValue?: ((value: number) => unknown) | null, onError?: ((reason: unknown) => unknown) | null) {
        onValue?.(1);
        onError?.(new Error('second call'));
        onValue?.(2);
        return undefined as never;
      },
    });
    const throwsAfterValue = (): PromiseLike<string> => ({
      then(onValue?: ((value: string) => unknown) | null) {
        onValue?.('ok');
        throw new Error('late throw');
      },
    });
    const throwsFirst = (): PromiseLike<string> => ({
      then() {
        throw new Error('early throw');
      },
    });
    const notAFunction = 42 as unknown as () => number;
    for (const key of ['idle', 'busy']) {
      const gate = deferred();
      if (key === 'busy') void queue.run(key, () => gate.promise);
      const outcomes = Promise.allSettled([
        queue.run(key, twice),
        queue.run(key, throwsAfterValue),
        queue.run(key, throwsFirst),
        queue.run(key, notAFunction),
        queue.run(key, null as unknown as () => number),
        queue.run(key, () => 'last'),
      ]);
      gate.resolve();
      const settled = await outcomes;
      expect(settled.map((entry) => (entry.status === 'fulfilled' ? entry.value : (entry.reason as Error).constructor.name + ': ' + (entry.reason as Error).message))).toEqual([
        1,
        'ok',
        'Error: early throw',
        'InvalidArgumentError: task must be a function; got number',
        'InvalidArgumentError: task must be a function; got null',
        'last',
      ]);
      // Refused up front with a code, before taking a place in line (nothing ran).
      expect(settled.slice(3, 5).map((entry) => (entry.status === 'rejected' ? (entry.reason as { code?: string }).code : 'fulfilled'))).toEqual(['ERR_INVALID_ARGUMENT', 'ERR_INVALID_ARGUMENT']);
    }
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });

  test('NFR-8: a native promise whose own then calls back twice, as the head, settles its run once', async () => {
    const queue = new SerialQueue<string>();
    const next = jest.fn(() => 'next');
    const head = queue.run('k', () => promiseWithOwnThen('fake'));
    const tail = queue.run('k', next);
    expect(await head).toBe('real');
    expect(await tail).toBe('next');
    expect(queue.size).toBe(0);
  });

  // Review finding (review-12 #2), fixed since (tail-queue.ts ownOutcome): the core calls the built-in Promise.prototype.then on a head task's
  // promise (tail-queue.ts `then`, DESIGN §3 invariant 2), but a waiting run returns the task's
  // promise from a reaction, so the engine adopts it through the promise's OWN `then`. A native
  // promise whose own `then` never calls back (or calls back with another value) is fine on an
  // idle key and blocks a busy key for good: every later task on it never starts.
  test('FR-1.1: a native promise with its own silent then, run on a busy key, does not block the key (as it does not on an idle key)', async () => {
    const queue = new SerialQueue<string>();
    expect(await queue.run('idle', () => promiseWithOwnThen(undefined))).toBe('real');
    const gate = deferred();
    void queue.run('busy', () => gate.promise);
    const waiting = queue.run('busy', () => promiseWithOwnThen(undefined));
    const after = queue.run('busy', () => 'after');
    gate.resolve();
    await drain();
    await drain();
    expect(await Promise.race([waiting, drain().then(() => 'still pending')])).toBe('real');
    expect(await Promise.race([after, drain().then(() => 'still pending')])).toBe('after');
  });

  test('NFR-8: a waiting run whose task returns a native promise with its own then gets the promise\'s real value, as the head does', async () => {
    const queue = new SerialQueue<string>();
    expect(await queue.run('k', () => promiseWithOwnThen('fake'))).toBe('real');
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    const waiting = queue.run('k', () => promiseWithOwnThen('fake'));
    gate.resolve();
    expect(await waiting).toBe('real');
  });

  test('NFR-8: a waiting run whose task returns a rejected native promise with its own then gets the real rejection, as the head does', async () => {
    const queue = new SerialQueue<string>();
    const rejectedWithOwnThen = (): Promise<string> => {
      const promise = Promise.reject(new Error('real failure'));
      // Reports a value instead: followed through this one, the run would fulfil.
      Object.defineProperty(promise, 'then', { value: (onValue?: (value: string) => unknown) => onValue?.('fake') });
      return promise;
    };
    await expect(queue.run('k', rejectedWithOwnThen)).rejects.toThrow('real failure');
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    const waiting = queue.run('k', rejectedWithOwnThen);
    gate.resolve();
    await expect(waiting).rejects.toThrow('real failure');
  });
});

describe('review of issue 12: hostile run options (FR-1.1)', () => {
  // Review finding (review-12 #4), fixed since (SerialQueue.run checks `signal` before the run takes
  // its place: InvalidArgumentError, nothing runs). Before: `signal` was not checked. On an idle key a non-AbortSignal is ignored and
  // the task runs; on a busy key the abort layer calls signal.addEventListener inside the caller's
  // promise executor, so the caller gets a TypeError (no `code`) at once while the run keeps its
  // place and its task still runs later: the caller is told "failed" for work that is done (a
  // retry writes twice). The fanout also keeps the bogus object in its map (set before the throw).
  test.each([
    ['an empty object', {}],
    ['a string', 'not a signal'],
    ['an object with aborted false only', { aborted: false }],
  ])('FR-1.1: a run on a busy key given %s as signal either runs its task and settles with its value, or rejects and never runs it', async (_name, signal) => {
    const queue = new SerialQueue<string>();
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    let ran = false;
    const outcome = queue
      .run('k', () => {
        ran = true;
        return 'value';
      }, { signal: signal as unknown as AbortSignal })
      .then(
        (value) => `resolved ${value}`,
        (error: unknown) => `rejected ${(error as Error).name}`,
      );
    gate.resolve();
    const settled = await outcome;
    await queue.onIdle();
    expect({ settled, ran }).toEqual({ settled: 'rejected InvalidArgumentError', ran: false });
  });
});

describe('review of issue 12: keys (FR-1.1)', () => {
  test('FR-1.1: NaN is one key, -0 and 0 are one key, "__proto__" and "constructor" are ordinary keys, 1 and "1" differ', async () => {
    const queue = new SerialQueue<unknown>();
    const gates = new Map<unknown, Deferred>();
    const keys: unknown[] = [NaN, 0, '__proto__', 'constructor', 1, '1', 'toString'];
    for (const key of keys) {
      const gate = deferred();
      gates.set(key, gate);
      void queue.run(key, () => gate.promise);
    }
    expect(queue.size).toBe(keys.length);
    expect(queue.depth(Number('x'))).toBe(1);
    expect(queue.depth(-0)).toBe(1);
    expect(queue.depth('valueOf')).toBe(0);
    const order: string[] = [];
    const behindNaN = queue.run(0 / 0, () => void order.push('NaN'));
    const behindZero = queue.run(-0, () => void order.push('-0'));
    const behindProto = queue.run('__proto__', () => void order.push('__proto__'));
    await drain();
    expect(order).toEqual([]);
    expect(queue.size).toBe(keys.length);
    for (const gate of gates.values()) gate.resolve();
    await Promise.all([behindNaN, behindZero, behindProto]);
    expect(order).toEqual(['NaN', '-0', '__proto__']);
    expect(queue.size).toBe(0);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  test('FR-1.1: an object key whose toString, valueOf and toPrimitive throw works, also in the re-entry error (NFR-4)', async () => {
    const queue = new SerialQueue<object>({ detectReentry: true, depthWarningThreshold: 0 });
    const boom = (): never => {
      throw new Error('converted the key');
    };
    const key = { toString: boom, valueOf: boom, [Symbol.toPrimitive]: boom, toJSON: boom };
    const inner = await queue.run(key, () => queue.run(key, () => 'never')).catch((error: unknown) => error);
    expect(inner).toBeInstanceOf(LockReentryError);
    expect(inner).toMatchObject({ code: 'ERR_LOCK_REENTRY', key, message: 'run() re-entered key [object] from a task that holds it; this would deadlock' });
    // A spy, not process.on('warning'): jest's sandboxed process does not receive Node's warning events.
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const gate = deferred();
    const runs = [queue.run(key, () => gate.promise), queue.run(key, () => 'second')];
    gate.resolve();
    await Promise.all(runs);
    const warnings = emitWarning.mock.calls.map(([warning]) => warning as Error & { key: unknown; depth: number });
    emitWarning.mockRestore();
    expect(warnings.map((warning) => [warning.name, warning.message, warning.key === key, warning.depth])).toEqual([
      ['SerialQueueWarning', '1 tasks are waiting on one key (threshold 0)', true, 1],
    ]);
  });

  test('FR-1.1, NFR-3: 50,000 distinct keys run and release; the index keeps no live key', async () => {
    const queue = new SerialQueue<string>();
    let ran = 0;
    const runs: Promise<void>[] = [];
    for (let i = 0; i < 50_000; i += 1) {
      runs.push(queue.run(`key-${i}`, () => void (ran += 1)));
      if (i % 3 === 0) runs.push(queue.run(`key-${i}`, () => void (ran += 1)));
    }
    expect(queue.size).toBe(50_000);
    await Promise.all(runs);
    expect(ran).toBe(runs.length);
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });
});

describe('review of issue 12: many queues in one process (the plain-object chain)', () => {
  test('FR-1.1: two queues on the same key never wait for each other, and each counts its own', async () => {
    const first = new SerialQueue<string>();
    const second = new SerialQueue<string>();
    const gate = deferred();
    const held = first.run('k', () => gate.promise);
    expect(await second.run('k', () => 'free')).toBe('free');
    expect([first.depth('k'), second.depth('k'), first.size, second.size]).toEqual([1, 0, 1, 0]);
    gate.resolve();
    await held;
  });

  test('FR-1.1: 2,000 fresh queues made over time, each used and dropped, keep FIFO and release every key', async () => {
    for (let round = 0; round < 2_000; round += 1) {
      const queue = new SerialQueue<string>();
      const order: number[] = [];
      const gate = deferred();
      const runs = [queue.run('k', () => gate.promise.then(() => void order.push(0)))];
      for (let i = 1; i < 4; i += 1) runs.push(queue.run('k', () => void order.push(i)));
      expect(queue.depth('k')).toBe(4);
      gate.resolve();
      await Promise.all(runs);
      expect(order).toEqual([0, 1, 2, 3]);
      expect(queue.size).toBe(0);
      if (round % 500 === 0) await drain();
    }
  });
});

type Command = { kind: 'run'; key: number; withSignal: boolean } | { kind: 'finish'; key: number; fails: boolean } | { kind: 'abort'; pick: number } | { kind: 'tick' };

describe('review of issue 12: model (FR-1.1, FR-1.2, FR-1.3)', () => {
  test('FR-1.1: per key FIFO, one task at a time, failures never poison, aborts leave; depth/size/pending exact after each step', async () => {
    const keys = ['a', NaN, -0, '__proto__'] as const;
    const command: fc.Arbitrary<Command> = fc.oneof(
      fc.record({ kind: fc.constant('run' as const), key: fc.nat(3), withSignal: fc.boolean() }),
      fc.record({ kind: fc.constant('finish' as const), key: fc.nat(3), fails: fc.boolean() }),
      fc.record({ kind: fc.constant('abort' as const), pick: fc.nat(40) }),
      fc.constant({ kind: 'tick' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (commands) => {
        const queue = new SerialQueue<unknown>({ logger: { warn: () => undefined, debug: () => undefined } });
        interface Run {
          readonly id: number;
          readonly key: number;
          readonly gate: Deferred;
          readonly abort: AbortController | undefined;
          state: 'waiting' | 'running' | 'done' | 'left';
          outcome: string | undefined;
        }
        const runs: Run[] = [];
        const started: number[][] = keys.map(() => []);
        const running = keys.map(() => 0);
        let violations = 0;
        for (const step of commands) {
          if (step.kind === 'run') {
            const id = runs.length;
            const run: Run = { id, key: step.key, gate: deferred(), abort: step.withSignal ? new AbortController() : undefined, state: 'waiting', outcome: undefined };
            runs.push(run);
            queue
              .run(
                keys[step.key],
                () => {
                  if (running[run.key]! > 0) violations += 1;
                  running[run.key]! += 1;
                  run.state = 'running';
                  started[run.key]!.push(id);
                  return run.gate.promise.finally(() => (running[run.key]! -= 1));
                },
                { signal: run.abort?.signal },
              )
              .then(
                () => (run.outcome = 'ok'),
                (error: unknown) => (run.outcome = error === 'aborted' ? 'aborted' : 'failed'),
              );
          } else if (step.kind === 'finish') {
            const run = runs.find((candidate) => candidate.key === step.key && candidate.state === 'running');
            if (run !== undefined) {
              run.state = 'done';
              if (step.fails) run.gate.reject('failed');
              else run.gate.resolve();
            }
          } else if (step.kind === 'abort') {
            const run = runs[step.pick];
            if (run?.abort !== undefined) {
              run.abort.abort('aborted');
              if (run.state === 'waiting') run.state = 'left';
            }
          }
          await drain();
          // Reference: per key, a run counts while waiting or running; the oldest counted one runs.
          for (let k = 0; k < keys.length; k += 1) {
            const counted = runs.filter((run) => run.key === k && (run.state === 'waiting' || run.state === 'running'));
            expect(queue.depth(keys[k])).toBe(counted.length);
            if (counted.length > 0) expect(counted[0]!.state).toBe('running');
            expect(counted.slice(1).every((run) => run.state === 'waiting')).toBe(true);
          }
          const live = runs.filter((run) => run.state === 'waiting' || run.state === 'running');
          expect(queue.size).toBe(new Set(live.map((run) => run.key)).size);
          expect(queue.metrics().pending).toBe(live.length);
        }
        for (const run of runs) run.gate.resolve();
        for (const run of runs) run.abort?.abort('aborted');
        await queue.onIdle();
        await drain();
        expect(violations).toBe(0);
        for (let k = 0; k < keys.length; k += 1) {
          const expected = runs.filter((run) => run.key === k && run.state !== 'left').map((run) => run.id);
          // Runs aborted in the final sweep while still waiting never start; every one that started did so in call order.
          expect(started[k]).toEqual(expected.filter((id) => started[k]!.includes(id)));
        }
        for (const run of runs) {
          if (run.state === 'left') expect(run.outcome).toBe('aborted');
          if (run.state === 'done') expect(run.outcome).toMatch(/^(ok|failed)$/);
        }
        expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
      }),
      { numRuns: 150 },
    );
  });
});
