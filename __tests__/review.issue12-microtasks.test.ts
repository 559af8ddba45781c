/**
 * Outsider review of issue 12's queue: `depth`, `size` and `metrics()` read
 * at the microtasks a user sees (each task's start, each caller's resumption),
 * with tasks that settle after random numbers of ticks and signals aborted at
 * random ticks, against a reference that counts runs not yet done or left.
 */
import fc from 'fast-check';
import { SerialQueue } from '../lib/index.js';
import { drain } from './helpers/common.js';

interface Plan {
  readonly ticks: number;
  readonly fails: boolean;
  readonly isSync: boolean;
  readonly abortAtTick: number | undefined;
}

const plan: fc.Arbitrary<Plan> = fc.record({
  ticks: fc.nat(4),
  fails: fc.boolean(),
  isSync: fc.boolean(),
  abortAtTick: fc.option(fc.nat(30), { nil: undefined }),
});

async function ticks(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await Promise.resolve();
}

describe('review of issue 12: counters at every step a user sees (FR-1.1, FR-1.3)', () => {
  test('FR-1.1: at each task start depth is 1 + later runs still in line, at each caller resumption the later runs still in line; pending and size agree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(plan, { minLength: 1, maxLength: 12 }), async (plans) => {
        const queue = new SerialQueue<string>({ logger: { warn: () => undefined, debug: () => undefined } });
        const state = plans.map(() => ({ added: false, started: false, done: false, left: false }));
        const controllers = plans.map((entry) => (entry.abortAtTick === undefined ? undefined : new AbortController()));
        const problems: string[] = [];
        const inLineAfter = (i: number): number => state.filter((entry, j) => j > i && entry.added && !entry.left && !entry.done).length;
        const check = (where: string, actual: number, expected: number): void => {
          if (actual !== expected) problems.push(`${where}: ${actual} !== ${expected}`);
        };
        // Read in the caller's first reaction: the moment `await queue.run(...)` resumes.
        const resumed = (i: number, outcome: string): string => {
          if (outcome !== 'aborted') {
            check(`depth when caller ${i} resumes`, queue.depth('k'), inLineAfter(i));
            check(`size when caller ${i} resumes`, queue.size, inLineAfter(i) > 0 ? 1 : 0);
          }
          return outcome;
        };
        const callers = plans.map((entry, i) => {
          // An idle key starts the task inside run(): the runs after it are not added yet.
          state[i]!.added = true;
          return queue
            .run(
              'k',
              () => {
                if (state.some((other, j) => j < i && other.started && !other.done)) problems.push(`run ${i} started beside an earlier run`);
                if (state.some((other, j) => j < i && !other.done && !other.left)) problems.push(`run ${i} overtook an earlier run`);
                state[i]!.started = true;
                check(`depth at start of ${i}`, queue.depth('k'), 1 + inLineAfter(i));
                check(`pending at start of ${i}`, queue.metrics().pending, 1 + inLineAfter(i));
                const finish = (): void => {
                  state[i]!.done = true;
                  if (entry.fails) throw new Error(`task ${i}`);
                };
                if (entry.isSync) return finish();
                return ticks(entry.ticks).then(finish);
              },
              { signal: controllers[i]?.signal },
            )
            .then(
              () => resumed(i, 'ok'),
              (error: unknown) => resumed(i, error instanceof Error ? 'failed' : 'aborted'),
            );
        });
        for (let tick = 0; tick <= 30; tick += 1) {
          plans.forEach((entry, i) => {
            if (entry.abortAtTick !== tick) return;
            if (!state[i]!.started) state[i]!.left = true;
            controllers[i]!.abort('aborted');
          });
          await Promise.resolve();
        }
        const outcomes = await Promise.all(callers);
        await drain();
        expect(problems).toEqual([]);
        expect(outcomes).toEqual(plans.map((entry, i) => (state[i]!.left ? 'aborted' : entry.fails ? 'failed' : 'ok')));
        expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
        expect(queue.depth('k')).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
