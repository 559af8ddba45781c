/**
 * Second outsider review of issue 12: native promises whose `then` is not the
 * built-in one (change 3, `ownOutcome` in tail-queue.ts), beyond an own
 * property: a `then` on a swapped prototype, and the re-entry guard
 * (detectReentry), which calls the task promise's `then` itself.
 */
import { SerialQueue } from '../lib/index.js';
import { deferred, drain } from './helpers/common.js';

/**
 * A native promise resolved with 'real' whose prototype (not the promise itself) carries a
 * `then` that reports `reported`, or never calls back for undefined. Still a native promise:
 * `Promise.resolve(p) === p` and the built-in then works on it.
 */
function promiseWithPrototypeThen(reported: string | undefined): Promise<string> {
  const promise = Promise.resolve('real');
  const prototype = Object.create(Promise.prototype, {
    then: {
      value(this: Promise<string>, onValue?: (value: string) => unknown) {
        if (reported !== undefined) onValue?.(reported);
        return this;
      },
    },
  }) as object;
  Object.setPrototypeOf(promise, prototype);
  return promise;
}

/** A native promise resolved with 'real' whose own `then` throws, or never calls back. */
function promiseWithOwnThen(behaviour: 'throws' | 'never'): Promise<string> {
  const promise = Promise.resolve('real');
  Object.defineProperty(promise, 'then', {
    value(this: Promise<string>) {
      if (behaviour === 'throws') throw new Error('own then throws');
      return this;
    },
  });
  return promise;
}

describe('review 12b: native promises with a then that is not the built-in one (NFR-8, FR-1.1)', () => {
  test('control: such a promise is native and Promise.resolve returns it as it is (what makes the head ignore its then)', () => {
    const promise = promiseWithPrototypeThen('fake');
    expect(promise instanceof Promise).toBe(true);
    expect(Promise.resolve(promise)).toBe(promise);
    expect(Object.hasOwn(promise, 'then')).toBe(false);
  });

  // Review finding (review-12b #4), fixed since: ownOutcome checks only Object.hasOwn(promise, 'then'); a native
  // promise whose `then` comes from a swapped prototype is returned from the waiting run's
  // reaction and followed through that `then`. The head (built-in then) gets 'real', the
  // waiting run 'fake': the review-12 #2 defect, for a then that is not an own property.
  test('NFR-8: a waiting run gets the real value of a native promise whose prototype carries another then, as the head does', async () => {
    const queue = new SerialQueue<string>();
    const head = queue.run('k', () => promiseWithPrototypeThen('fake'));
    const waiting = queue.run('k', () => promiseWithPrototypeThen('fake'));
    expect(await Promise.all([head, waiting])).toEqual(['real', 'real']);
  });

  // Review finding (review-12b #4), fixed since: same cause; a prototype then that never calls back leaves the
  // waiting run unsettled for ever, and every later run on the key waits behind it.
  test('NFR-3: a waiting run whose native promise has a prototype then that never calls back still settles and hands the key on', async () => {
    const queue = new SerialQueue<string>();
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    const waiting = queue.run('k', () => promiseWithPrototypeThen(undefined));
    const after = queue.run('k', () => 'after');
    gate.resolve();
    for (let i = 0; i < 5; i += 1) await drain();
    expect(queue.depth('k')).toBe(0);
    expect(await Promise.all([waiting, after])).toEqual(['real', 'after']);
  });

  // Review finding (review-12b #5), fixed since: ReentryGuard.holding calls `result.then(release, release)` on the
  // task's promise: that is the promise's own then. When it throws, the wrapper throws after
  // the task ran, so a task that succeeded rejects its caller with the then's error. Without
  // detectReentry (the control) it always held.
  test.each([false, true])('FR-1.1: detectReentry %s: a task promise whose own then throws gives its caller the real value (head and waiting run)', async (detectReentry) => {
    const queue = new SerialQueue<string>({ detectReentry });
    const settled = await Promise.allSettled([queue.run('k', () => promiseWithOwnThen('throws')), queue.run('k', () => promiseWithOwnThen('throws'))]);
    expect(settled).toEqual([
      { status: 'fulfilled', value: 'real' },
      { status: 'fulfilled', value: 'real' },
    ]);
  });

  // Review finding (review-12b #5), fixed since: same cause; an own then that never calls back never releases the
  // holder, so once the task is done, a run on the key from work the task scheduled (its async
  // context) is refused with ERR_LOCK_REENTRY although nothing holds the key.
  test('FR-1.1: with detectReentry, a run from work a finished task scheduled is not refused when the task promise\'s own then never calls back', async () => {
    const queue = new SerialQueue<string>({ detectReentry: true });
    const later = deferred<Promise<string>>();
    expect(
      await queue.run('k', () => {
        // Scheduled by the task, run after it has finished (a native promise job, in the task's async context).
        void Promise.resolve().then(async () => {
          await drain();
          later.resolve(queue.run('k', () => 'later run').catch((error: { code?: string }) => error.code ?? 'no code'));
        });
        return promiseWithOwnThen('never');
      }),
    ).toBe('real');
    expect(await (await later.promise)).toBe('later run');
  });

  test('control (holds): with detectReentry and an ordinary promise, the same later run goes through', async () => {
    const queue = new SerialQueue<string>({ detectReentry: true });
    const later = deferred<Promise<string>>();
    expect(
      await queue.run('k', () => {
        void Promise.resolve().then(async () => {
          await drain();
          later.resolve(queue.run('k', () => 'later run').catch((error: { code?: string }) => error.code ?? 'no code'));
        });
        return Promise.resolve('real');
      }),
    ).toBe('real');
    expect(await (await later.promise)).toBe('later run');
  });
});
