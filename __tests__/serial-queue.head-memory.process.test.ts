/**
 * NFR-3 on the reworked head path (ee6c345): the head task's own promise is
 * what its caller's promise derives from (the chain kept it as `chain.head`
 * until the first waiting run went behind a gate, `chain.wake`), and
 * TailIndex notes each released key once per reclaiming pass. Measured in child processes (`node --expose-gc`)
 * on the BUILT dist/ (build first: `npx tsc -p tsconfig.build.json`).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const DIST = path.join(__dirname, '..', 'dist', 'index.js');
const HEAP = path.join(__dirname, 'fixtures', 'queue-head-heap.mjs');

function node(args: readonly string[]): Record<string, unknown> {
  const env = { ...process.env };
  delete env.NODE_DEBUG;
  const child = spawnSync(process.execPath, ['--expose-gc', ...args], { env, encoding: 'utf8', timeout: 90_000 });
  expect({ status: child.status, stderr: child.stderr.slice(-2000) }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

/**
 * Runs a head on 'k' whose task settles with a fresh object (value or reason), keeps the key
 * busy behind it with a waiter that hangs, drops every reference of its own to the object and
 * the caller's promise, collects garbage and reports whether the object is still reachable;
 * then lets the key go idle and reports again.
 */
function headRetention(outcome: 'fulfils' | 'rejects'): Record<string, unknown> {
  const task = outcome === 'fulfils' ? '() => Promise.resolve(makeBig())' : '() => Promise.reject(makeBig())';
  const script = [
    `import { SerialQueue } from ${JSON.stringify(pathToFileURL(DIST).href)};`,
    'const queue = new SerialQueue();',
    'let ref;',
    // Module-level function: no closure the test keeps shares a context with the object.
    'function makeBig() { const big = { payload: new Array(1000).fill(0) }; ref = new WeakRef(big); return big; }',
    'let release;',
    'const hang = new Promise((resolve) => (release = resolve));',
    `const first = queue.run('k', ${task}).then(() => undefined, () => undefined);`,
    "void queue.run('k', () => hang);",
    'await first;',
    'async function collect() { for (let i = 0; i < 4; i += 1) { await new Promise((r) => setTimeout(r, 5)); globalThis.gc(); } }',
    'await collect();',
    "const whileBusy = { isReachable: ref.deref() !== undefined, depth: queue.depth('k') };",
    'release();',
    'await queue.onIdle();',
    'await collect();',
    'console.log(JSON.stringify({ whileBusy, afterIdle: { isReachable: ref.deref() !== undefined, size: queue.size } }));',
  ].join('\n');
  return node(['--input-type=module', '-e', script]);
}

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
});

describe('NFR-3 the chain keeps nothing of a settled head task', () => {
  // Review finding, fixed since (ee6c345, tail-queue.ts #start: `chain.head = result`): the chain keeps the head task's
  // own promise, and so its value or rejection reason, until the key is released. A key kept busy
  // (a waiter always behind the running task) keeps its first task's outcome alive for as long as
  // it stays busy, after its caller has dropped it. At ce12509 `head` was the void tail and this
  // test passes there (checked against a build of that commit). Since then the chain keeps no
  // reference to the head task's promise at all (the first waiting run goes behind `chain.wake`).
  test.each(['fulfils', 'rejects'] as const)('a head task that %s: its outcome is collectable once its caller dropped it, while the key stays busy', (outcome) => {
    const report = headRetention(outcome);
    expect(report).toEqual({ whileBusy: { isReachable: false, depth: 1 }, afterIdle: { isReachable: false, size: 0 } });
  }, 60_000);

  test.each(['fulfils', 'rejects'] as const)('control: a head task that %s: its outcome is collectable once the key is idle', (outcome) => {
    const report = headRetention(outcome);
    expect(report).toMatchObject({ whileBusy: { depth: 1 }, afterIdle: { isReachable: false, size: 0 } });
  }, 60_000);
});

describe('NFR-3 the reclaiming pass keeps the heap flat under key churn (fixtures/queue-head-heap.mjs)', () => {
  test.each([
    ['distinct', 300_000],
    ['alternating', 1_000_000],
    ['revived', 300_000],
    ['contended', 30_000],
  ] as const)('mode %s, %i runs: heap grows under 5 MB and nothing stays live', (mode, count) => {
    const report = node([HEAP, mode, String(count)]);
    expect(report).toMatchObject({ mode, count, size: 0, pending: 0 });
    expect(report.growthMB).toBeLessThan(5);
  }, 90_000);
});
