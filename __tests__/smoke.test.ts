import { AsyncLocalStorage } from 'node:async_hooks';
import { SerialQueue } from '../lib/index.js';

test('smoke', async () => {
  jest.useFakeTimers();
  const warns: unknown[] = [];
  const q = new SerialQueue({ logger: { warn: (f) => warns.push(f), debug: (f) => warns.push(f) } });
  let release!: () => void;
  const p1 = q.run('a', () => new Promise<void>((r) => (release = r)));
  const p2 = q.run('a', () => 2);
  await Promise.resolve();
  jest.advanceTimersByTime(5000);
  expect(warns).toHaveLength(1);
  release();
  await p1;
  expect(await p2).toBe(2);
  await q.onIdle();
  expect(q.size).toBe(0);
  expect(jest.getTimerCount()).toBe(0);
  const als = new AsyncLocalStorage<string>();
  const r = await als.run('ctx', () => q.run('b', () => als.getStore()));
  expect(r).toBe('ctx');
  jest.useRealTimers();
});
