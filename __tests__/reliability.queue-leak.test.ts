/**
 * Leaks and exits (issue 6, part 7; NFR-3): the BUILT package runs in child
 * processes (fixtures/queue-leak.mjs, `node --expose-gc`) so the heap is
 * measured in a clean process and a lingering timer or handle shows up as a
 * process that does not exit. `npm test` builds dist/ before jest runs.
 */
import { spawn } from 'node:child_process';
import { getEventListeners, setMaxListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { SerialQueue } from '../lib/index.js';

const FIXTURE = path.join(__dirname, 'fixtures', 'queue-leak.mjs');
const DIST = path.join(__dirname, '..', 'dist', 'index.js');
const MB = 1024 * 1024;

interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly isKilled: boolean;
  readonly elapsedMs: number;
  readonly stderr: string;
  readonly report: Record<string, unknown>;
}

/** Runs the fixture in `mode`; SIGKILLs it after `limitMs` and says so. */
/** The longest a leak child may run; the test waits that long plus a margin, not jest's default 60 s (a loaded machine needed more). */
const CHILD_BOUND_MS = 120_000;

function runFixture(mode: string, limitMs: number): Promise<ChildResult> {
  const env = { ...process.env };
  delete env.NODE_DEBUG;
  const started = performance.now();
  const child = spawn(process.execPath, ['--expose-gc', FIXTURE, mode], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let isKilled = false;
  const limit = setTimeout(() => {
    isKilled = true;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      let report: Record<string, unknown> = {};
      try {
        report = JSON.parse(last) as Record<string, unknown>;
      } catch {
        // No report: the assertions on code and report say what went wrong, with stderr beside them.
      }
      resolve({ code, signal, isKilled, elapsedMs: performance.now() - started, stderr: stderr.slice(-2000), report });
    });
  });
}

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
});

describe('a million tasks over 100,000 keys leave nothing behind (NFR-3)', () => {
  test('size and pending return to 0 and the heap ends within 5 MB of its warm baseline', async () => {
    const child = await runFixture('plain', CHILD_BOUND_MS);
    expect({ code: child.code, isKilled: child.isKilled, stderr: child.code === 0 ? '' : child.stderr }).toEqual({ code: 0, isKilled: false, stderr: '' });
    expect(child.report).toMatchObject({ tasks: 1_000_000, keys: 100_000, size: 0, pending: 0, activeKeys: 0 });
    expect(Number(child.report.heapGrowthBytes)).toBeLessThanOrEqual(5 * MB);
  }, CHILD_BOUND_MS + 30_000);

  test('with aborts and rejections mixed in, every caller gets its outcome and no signal keeps a listener', async () => {
    const child = await runFixture('abort', CHILD_BOUND_MS);
    expect({ code: child.code, isKilled: child.isKilled, stderr: child.code === 0 ? '' : child.stderr }).toEqual({ code: 0, isKilled: false, stderr: '' });
    expect(child.report).toMatchObject({
      size: 0,
      pending: 0,
      roundSignalListeners: 0,
      pooledSignalListeners: 0,
      sharedSignalListeners: 0,
      // One signal reused by 100,000 runs, two in flight at a time: at most one listener each.
      sharedSignalPeakListeners: 1,
      processWarnings: [],
    });
    // The schedule really aborted waiting tasks (about a fifth of a million).
    expect(Number(child.report.aborted)).toBeGreaterThan(100_000);
    expect(Number(child.report.heapGrowthBytes)).toBeLessThanOrEqual(5 * MB);
  }, CHILD_BOUND_MS + 30_000);
});

describe('no timer or handle keeps a process alive (NFR-3)', () => {
  // waitWarningMs is 60 s in the fixture: a ref'd or uncleared warning timer would hold the child past the limit.
  test('a process that ran contended, failing and aborted tasks exits by itself at once', async () => {
    const child = await runFixture('exit', 15_000);
    expect({ code: child.code, signal: child.signal, isKilled: child.isKilled }).toEqual({ code: 0, signal: null, isKilled: false });
    expect(child.report).toEqual({
      mode: 'exit',
      size: 0,
      pending: 0,
      statuses: ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled'],
    });
    expect(child.elapsedMs).toBeLessThan(10_000);
  });

  test('a process whose task never settles, with waiters and their warning timer behind it, still exits by itself', async () => {
    const child = await runFixture('stuck', 15_000);
    expect({ code: child.code, signal: child.signal, isKilled: child.isKilled }).toEqual({ code: 0, signal: null, isKilled: false });
    expect(child.report).toEqual({ mode: 'stuck', size: 1, pending: 4 });
    expect(child.elapsedMs).toBeLessThan(10_000);
  });
});

describe('abort listeners per signal (NFR-3)', () => {
  // Node's EventTarget scans its listener list on every add: a listener per
  // run made N waiters on one shared signal O(N²) and tripped
  // MaxListenersExceededWarning. The queue keeps one listener per signal.
  test('one signal shared by many waiting runs carries one listener per queue, not one per run', async () => {
    const queue = new SerialQueue({ logger: { warn: () => undefined, debug: () => undefined } });
    const signal = new AbortController().signal;
    // Our own signal: lifting its limit keeps Node's warning out of the test output.
    setMaxListeners(0, signal);
    const calls = Array.from({ length: 20 }, (_, i) => queue.run(i % 2 === 0 ? 'sessions.enc' : 'tokens.enc', () => i, { signal }));
    const listeners = getEventListeners(signal, 'abort').length;
    await Promise.all(calls);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(listeners).toBeLessThanOrEqual(1);
  });
});
