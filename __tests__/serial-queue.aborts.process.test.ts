/**
 * NFR-3: runs that left
 * by abort while they waited behind a task that hangs. Measured in a child
 * process (`node --expose-gc`, fixtures/queue-aborts-heap.mjs) on the BUILT
 * dist/.
 *
 * Found by the adversarial review (also in 40c32a0): a run that left kept
 * its closures, its signal and its caller's settled promise alive until the
 * task ahead of it settled, about 2.3 KB per aborted run (232 MB after
 * 100,000 aborted waits). Fixed: the exit's reactions keep only a holder that
 * is emptied on leaving, and the core drops the task. What remains is the
 * run's link in the promise chain itself (its outcome and tail promises and
 * their reactions), about 0.75 KB until the hung task settles: measured
 * 15 MB per 20,000 and 75 MB per 100,000 aborted waits (node 20, this machine).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const FIXTURE = path.join(__dirname, 'fixtures', 'queue-aborts-heap.mjs');
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
});

describe('runs aborted while they wait behind a hung task (NFR-3)', () => {
  test('a batch of 20,000 aborted waits grows the heap by under 25 MB (1.25 KB a run): a run that left keeps only its link in the chain', () => {
    const env = { ...process.env };
    delete env.NODE_DEBUG;
    const child = spawnSync(process.execPath, ['--expose-gc', FIXTURE, '20000'], { env, encoding: 'utf8', timeout: 60_000 });
    expect({ status: child.status, stderr: child.stderr.slice(-2000) }).toEqual({ status: 0, stderr: '' });
    const report = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { depth: number; pending: number; firstMB: number; secondMB: number };
    // The counters are right today: only the holder is counted.
    expect([report.depth, report.pending]).toEqual([1, 1]);
    expect(report.secondMB - report.firstMB).toBeLessThan(25);
  }, 90_000);
});
