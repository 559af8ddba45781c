/**
 * NFR-3: released keys
 * keep an idle chain until the next reclaiming pass, so the queue may keep at
 * most RECLAIM_AFTER object keys alive once everything has settled, never
 * more, whatever the number of keys run. Measured in a child process
 * (`node --expose-gc`, fixtures/queue-keys-heap.mjs) on the BUILT dist/.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RECLAIM_AFTER } from '../lib/queue/tail-index.js';

const FIXTURE = path.join(__dirname, 'fixtures', 'queue-keys-heap.mjs');
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

function probe(keys: number, withAborts: boolean): { keys: number; alive: number; size: number; pending: number } {
  const env = { ...process.env };
  delete env.NODE_DEBUG;
  const child = spawnSync(process.execPath, ['--expose-gc', FIXTURE, String(keys), withAborts ? '1' : '0'], { env, encoding: 'utf8', timeout: 60_000 });
  expect({ status: child.status, stderr: child.stderr.slice(-2000) }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { keys: number; alive: number; size: number; pending: number };
}

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
});

describe('object keys are not kept alive beyond the reclaim bound (NFR-3)', () => {
  test('after 50,000 object keys, half contended, at most RECLAIM_AFTER stay reachable and none is live', () => {
    const report = probe(50_000, false);
    expect(report).toMatchObject({ keys: 50_000, size: 0, pending: 0 });
    expect(report.alive).toBeLessThanOrEqual(RECLAIM_AFTER);
  }, 90_000);

  test('the same with detectReentry and runs aborted while they waited', () => {
    const report = probe(50_000, true);
    expect(report).toMatchObject({ keys: 50_000, size: 0, pending: 0 });
    expect(report.alive).toBeLessThanOrEqual(RECLAIM_AFTER);
  }, 90_000);
});
