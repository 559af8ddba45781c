/**
 * The queue at scale: a million tasks leave nothing behind. Kept apart from
 * the fast suites so the mutation run (which re-runs every covering test per
 * mutant) and the quick `npm run test:unit` loop do not pay for it; `npm test` runs it.
 */
import { SerialQueue } from '../lib/index.js';

describe('SerialQueue per-key bookkeeping cleans itself (NFR-3)', () => {
  test('a million tasks over 100,000 keys leave no key and no pending task behind', async () => {
    const queue = new SerialQueue<number>({ logger: { warn: () => undefined, debug: () => undefined } });
    const keys = 100_000;
    let completed = 0;
    // Five waves of two tasks per key, so every key also has a waiter to hand on to.
    for (let wave = 0; wave < 5; wave += 1) {
      const runs: Promise<void>[] = [];
      for (let i = 0; i < 2 * keys; i += 1) runs.push(queue.run(i % keys, () => void (completed += 1)));
      expect(queue.size).toBe(keys);
      expect(queue.depth(keys - 1)).toBe(2);
      await Promise.all(runs);
      expect(queue.size).toBe(0);
    }
    expect(completed).toBe(1_000_000);
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });
});
