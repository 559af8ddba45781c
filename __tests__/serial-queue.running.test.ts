/**
 * Which task runs on a key (TailChain.isRunning), as the warnings count it
 * (FR-1.4): every task waits while the key is handed from one task to the
 * next, whichever way the last one settled, and a link left behind by a run
 * that aborted never marks a later task as stopped.
 */
import { SerialQueue } from '../lib/index.js';
import { deferred, drain, recordingLogger, useFakeTimersLeavingNone } from './helpers/queue-harness.js';

useFakeTimersLeavingNone();

const depthWarnings = (logger: ReturnType<typeof recordingLogger>): unknown[] => logger.of('warn').map((entry) => entry.fields);

test('FR-1.4: a head that rejects hands the key on with every task waiting: runs its caller adds there count in full', async () => {
  const logger = recordingLogger();
  const queue = new SerialQueue({ logger, depthWarningThreshold: 2 });
  const gate = deferred();
  const head = queue.run('k', () => gate.promise);
  await drain();
  const b = queue.run('k', () => undefined);
  const c = queue.run('k', () => undefined);
  let d: Promise<void> | undefined;
  const resumed = head.catch(() => {
    d = queue.run('k', () => undefined);
  });
  gate.reject(new Error('head failed'));
  await resumed;
  await Promise.all([b, c, d]);
  expect(depthWarnings(logger)).toEqual([{ key: 'k', depth: 3, threshold: 2 }]);
});

test('FR-1.4: a waiting run that settles hands the key on with every task waiting: runs its caller adds there count in full', async () => {
  const logger = recordingLogger();
  const queue = new SerialQueue({ logger, depthWarningThreshold: 2 });
  const gate = deferred();
  const head = queue.run('k', () => gate.promise);
  await drain();
  const started: string[] = [];
  const w = queue.run('k', () => void started.push('w'));
  const x = queue.run('k', () => void started.push('x'));
  expect(depthWarnings(logger)).toEqual([]);
  let seen: { started: string[]; depth: number } | undefined;
  let added: Promise<void>[] = [];
  const resumed = w.then(() => {
    // w has settled and x has not started: x and the two added here all wait.
    added = [queue.run('k', () => void started.push('y')), queue.run('k', () => void started.push('z'))];
    seen = { started: [...started], depth: queue.depth('k') };
  });
  gate.resolve();
  await Promise.all([head, resumed]);
  await Promise.all([x, ...added]);
  expect(seen).toEqual({ started: ['w'], depth: 3 });
  expect(depthWarnings(logger)).toEqual([{ key: 'k', depth: 3, threshold: 2 }]);
  expect(started).toEqual(['w', 'x', 'y', 'z']);
});

test('FR-1.4: the link of a run that aborted settles after the key has a new head, and does not count that head as stopped', async () => {
  const logger = recordingLogger();
  const queue = new SerialQueue({ logger, depthWarningThreshold: 1 });
  const first = deferred();
  const head = queue.run('k', () => first.promise);
  await drain();
  const abort = new AbortController();
  const left = queue.run('k', () => undefined, { signal: abort.signal }).catch((error: unknown) => error);
  abort.abort(new Error('gave up'));
  const second = deferred();
  let next: Promise<unknown> | undefined;
  // The head's caller resumes once the key is released, before the aborted run's link settles.
  const resumed = head.then(() => {
    next = queue.run('k', () => second.promise);
  });
  first.resolve();
  await resumed;
  await drain();
  // The new head runs; one task waits behind it: not more than the threshold of 1.
  const behind = queue.run('k', () => undefined);
  expect(queue.depth('k')).toBe(2);
  expect(depthWarnings(logger)).toEqual([]);
  second.resolve();
  await Promise.all([next, behind]);
  expect(await left).toMatchObject({ message: 'gave up' });
});
