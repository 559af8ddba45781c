/**
 * Second outsider review of issue 12: a fast-check model of one key over
 * several episodes (runs added at random microtasks, so the chain is released
 * and revived, sometimes while links of aborted runs still settle), with
 * tasks that settle synchronously, throw, reject, return thenables, or make a
 * run on the same key inside their synchronous part. Checked against a
 * reference: FIFO start order of the runs that did not leave, one task at a
 * time, every earlier caller resumed before a task the key is handed to starts (DESIGN §3.6),
 * onIdle callers after the callers of every run added before onIdle(), left
 * runs never start and reject with the reason, and the depth warning fires
 * once per episode with the exact number of waiting runs (FR-1.4).
 */
import fc from 'fast-check';
import { SerialQueue } from '../lib/index.js';
import { drain } from './helpers/common.js';

type Kind = 'sync' | 'throws' | 'resolves' | 'rejects' | 'thenable';

interface Plan {
  readonly addAt: number;
  readonly kind: Kind;
  readonly ticks: number;
  readonly abortAt: number | undefined;
  readonly nests: boolean;
  readonly idleAt: number | undefined;
}

const plan: fc.Arbitrary<Plan> = fc.record({
  addAt: fc.nat(24),
  kind: fc.constantFrom<Kind>('sync', 'throws', 'resolves', 'rejects', 'thenable'),
  ticks: fc.nat(4),
  abortAt: fc.option(fc.nat(30), { nil: undefined }),
  nests: fc.boolean(),
  idleAt: fc.option(fc.nat(30), { nil: undefined }),
});

interface Run {
  readonly id: number;
  /** Added while the key held a run: it is handed the key, it does not find it free. */
  readonly waited: boolean;
  started: boolean;
  ended: boolean;
  left: boolean;
  resumed: string | undefined;
}

async function ticks(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await Promise.resolve();
}

describe('review 12b: one key over episodes against a reference (FR-1.1, FR-1.3, FR-1.4)', () => {
  test('FR-1.1, FR-1.3, FR-1.4: order, hand-off, onIdle, aborts and the depth warning over released and revived chains', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(plan, { minLength: 1, maxLength: 10 }), fc.nat(3), async (plans, threshold) => {
        const warnings: string[] = [];
        const queue = new SerialQueue<string>({
          depthWarningThreshold: threshold,
          slowWaitMs: Infinity,
          waitWarningMs: Infinity,
          logger: { warn: (fields) => warnings.push(`depth ${String(fields.depth)}`), debug: () => undefined },
        });
        const expectedWarnings: string[] = [];
        let hasWarned = false;
        const runs: Run[] = [];
        const problems: string[] = [];
        const settled: Promise<unknown>[] = [];

        const add = (entry: Plan | undefined, signal: AbortSignal | undefined): Run => {
          const run: Run = { id: runs.length, waited: queue.depth('k') > 0, started: false, ended: false, left: false, resumed: undefined };
          // Reference for the depth warning: a new episode when the key holds no run.
          if (queue.depth('k') === 0) hasWarned = false;
          else {
            const waiting = runs.filter((other) => !other.started && !other.left).length + 1;
            if (waiting > threshold && !hasWarned) {
              hasWarned = true;
              expectedWarnings.push(`depth ${waiting}`);
            }
          }
          runs.push(run);
          const task = (): unknown => {
            for (const other of runs) {
              if (other.id < run.id && !other.left && !other.ended) problems.push(`run ${run.id} started before run ${other.id} ended`);
              // Only a run the key is handed to: a run on a released key starts inside run(), and the
              // head's handler releases the key a tick before its caller resumes (DESIGN §3.6).
              if (run.waited && other.id < run.id && !other.left && other.resumed === undefined) problems.push(`run ${run.id} started before caller ${other.id} resumed`);
            }
            if (run.left) problems.push(`run ${run.id} started after it left`);
            run.started = true;
            if (entry?.nests === true) add(undefined, undefined);
            const kind = entry?.kind ?? 'sync';
            const end = (): void => {
              run.ended = true;
            };
            if (kind === 'sync') return end();
            if (kind === 'throws') {
              end();
              throw new Error(`task ${run.id}`);
            }
            if (kind === 'thenable') {
              return {
                then(onValue: (value: string) => void): void {
                  void ticks(entry?.ticks ?? 0).then(() => {
                    end();
                    onValue('thenable');
                  });
                },
              };
            }
            return ticks(entry?.ticks ?? 0).then(() => {
              end();
              if (kind === 'rejects') throw new Error(`task ${run.id}`);
            });
          };
          const resume = (outcome: string): void => {
            run.resumed = outcome;
          };
          settled.push(
            queue.run('k', task, { signal }).then(
              () => resume('ok'),
              (error: unknown) => resume(error === 'left' ? 'left' : 'failed'),
            ),
          );
          return run;
        };

        const controllers = plans.map((entry) => (entry.abortAt === undefined ? undefined : new AbortController()));
        const made = new Map<number, Run>();
        for (let tick = 0; tick <= 30; tick += 1) {
          plans.forEach((entry, i) => {
            if (entry.addAt === tick) made.set(i, add(entry, controllers[i]?.signal));
          });
          plans.forEach((entry, i) => {
            const run = made.get(i);
            if (entry.abortAt !== tick || run === undefined) return;
            if (!run.started) run.left = true;
            controllers[i]!.abort('left');
          });
          plans.forEach((entry) => {
            if (entry.idleAt !== tick) return;
            const before = [...runs];
            settled.push(
              queue.onIdle().then(() => {
                for (const run of before) if (run.resumed === undefined) problems.push(`onIdle resolved before caller ${run.id} resumed`);
              }),
            );
          });
          await Promise.resolve();
        }
        // Runs whose signal aborts after the loop are added but never aborted: all end.
        await Promise.all(settled);
        await drain();

        for (const run of runs) {
          if (run.left && (run.started || run.resumed !== 'left')) problems.push(`run ${run.id} left: started ${String(run.started)}, caller ${String(run.resumed)}`);
          if (!run.left && (!run.started || run.resumed === 'left')) problems.push(`run ${run.id} did not run`);
        }
        expect(problems).toEqual([]);
        expect(warnings).toEqual(expectedWarnings);
        expect({ size: queue.size, depth: queue.depth('k'), pending: queue.metrics().pending }).toEqual({ size: 0, depth: 0, pending: 0 });
      }),
      { numRuns: 300 },
    );
  });
});
