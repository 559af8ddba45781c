/**
 * Adversarial review of the queue core (branch perf), NFR-3: runs that left
 * by abort while they waited behind a task that hangs. Measured in a child
 * process (`node --expose-gc`, fixtures/review-queue-aborts.mjs) on the BUILT
 * dist/.
 *
 * DEFECT (tail-queue.ts #wait with abort-exit.ts; also in 40c32a0, so not
 * from the perf rework): a run that left stays linked in its key's promise
 * chain until the task ahead of it settles, and with it its closures, its
 * signal and its caller's settled promise: about 1.8-2.4 KB per aborted run.
 * Behind a hung task, callers that give up (AbortSignal.timeout, say) grow the
 * heap without bound although depth and pending say 1: measured 232 MB after
 * 100,000 and 1,157 MB after 500,000 aborted waits (node 20, this machine).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const FIXTURE = path.join(__dirname, 'fixtures', 'review-queue-aborts.mjs');
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
});

describe('review: runs aborted while they wait behind a hung task (NFR-3)', () => {
  test.failing('a second batch of 20,000 aborted waits grows the heap by less than 2 MB over the first: a run that left keeps nothing', () => {
    const env = { ...process.env };
    delete env.NODE_DEBUG;
    const child = spawnSync(process.execPath, ['--expose-gc', FIXTURE, '20000'], { env, encoding: 'utf8', timeout: 60_000 });
    expect({ status: child.status, stderr: child.stderr.slice(-2000) }).toEqual({ status: 0, stderr: '' });
    const report = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { depth: number; pending: number; firstMB: number; secondMB: number };
    // The counters are right today: only the holder is counted.
    expect([report.depth, report.pending]).toEqual([1, 1]);
    expect(report.secondMB - report.firstMB).toBeLessThan(2);
  }, 90_000);
});
