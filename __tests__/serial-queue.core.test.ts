/**
 * The queue core's WaitExit contract, through TailQueue itself: SerialQueue's
 * abort layer never calls leave() once a task has started, but any other exit
 * may, and the core must then refuse and change nothing (FR-1.2, NFR-8).
 */
import { TailQueue } from '../lib/queue/tail-queue.js';
import type { WaitExit } from '../lib/queue/wait-hooks.js';
import { deferred, drain } from './helpers/common.js';

const silentObserver = { waitBegan: () => ({ end: () => undefined }) };

test('leave() after the task started returns false: the task runs on, its value reaches the caller, the counts stay exact', async () => {
  const core = new TailQueue<string, unknown>(silentObserver);
  const head = deferred();
  void core.run('k', () => head.promise);
  let leave: (() => boolean) | undefined;
  const exit: WaitExit = (outcome, leaveFn) => {
    leave = leaveFn;
    return { caller: outcome as Promise<never>, placed: () => undefined };
  };
  const gate = deferred<string>();
  const waiting = core.run('k', () => gate.promise, exit);
  head.resolve();
  await drain();
  // The waiting run's task has started: its turn has come.
  expect(core.depth('k')).toBe(1);
  expect(leave!()).toBe(false);
  expect(core.depth('k')).toBe(1);
  expect(core.pending).toBe(1);
  gate.resolve('value');
  await expect(waiting).resolves.toBe('value');
  await drain();
  expect(core.size).toBe(0);
  expect(core.pending).toBe(0);
});

test('leave() before the turn returns true once, then false', async () => {
  const core = new TailQueue<string, unknown>(silentObserver);
  const head = deferred();
  void core.run('k', () => head.promise);
  let leave: (() => boolean) | undefined;
  let started = false;
  void core.run(
    'k',
    () => {
      started = true;
    },
    (outcome, leaveFn) => {
      leave = leaveFn;
      return { caller: outcome as Promise<never>, placed: () => undefined };
    },
  );
  expect(leave!()).toBe(true);
  expect(leave!()).toBe(false);
  expect(core.depth('k')).toBe(1);
  head.resolve();
  await drain();
  expect(started).toBe(false);
  expect(core.size).toBe(0);
  expect(core.pending).toBe(0);
});

test('placed() comes once the run holds its place: a run made there queues behind it, and the observer has been told (FR-1.2)', async () => {
  const told: string[] = [];
  const core = new TailQueue<string, unknown>({ waitBegan: () => (told.push('waitBegan'), { end: () => undefined }) });
  const head = deferred();
  const order: string[] = [];
  void core.run('k', () => head.promise);
  let inner: Promise<unknown> | undefined;
  const outer = core.run(
    'k',
    () => void order.push('outer'),
    (outcome) => ({
      caller: outcome as Promise<never>,
      placed: () => {
        told.push('placed');
        inner = core.run('k', () => void order.push('inner'));
      },
    }),
  );
  expect(told).toEqual(['waitBegan', 'placed', 'waitBegan']);
  expect(core.depth('k')).toBe(3);
  head.resolve();
  await Promise.all([outer, inner]);
  expect(order).toEqual(['outer', 'inner']);
  await drain();
  expect(core.size).toBe(0);
});

test('an exit that calls leave() inside its own call: the run leaves before the observer is told, whose wait then ends at once, unstarted', async () => {
  const ends: boolean[] = [];
  const core = new TailQueue<string, unknown>({ waitBegan: () => ({ end: (hasStarted) => void ends.push(hasStarted) }) });
  const head = deferred();
  void core.run('k', () => head.promise);
  let left: boolean | undefined;
  let ran = false;
  void core.run(
    'k',
    () => {
      ran = true;
    },
    (outcome, leave) => {
      left = leave();
      return { caller: outcome as Promise<never>, placed: () => undefined };
    },
  );
  expect({ left, ends, depth: core.depth('k'), pending: core.pending }).toEqual({ left: true, ends: [false], depth: 1, pending: 1 });
  head.resolve();
  await drain();
  expect({ ran, ends, size: core.size, pending: core.pending }).toEqual({ ran: false, ends: [false], size: 0, pending: 0 });
});
