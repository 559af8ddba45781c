/**
 * What the queue does to the process it lives in: the default logger's
 * warnings and debug lines, import-time side effects, promise hooks and
 * timers that could keep the process alive. Real child processes run
 * fixtures against the BUILT package (`npm run build` first).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { SerialQueue } from '../lib/index.js';
import { deferred, drain } from './helpers/common.js';

const FIXTURES = path.join(__dirname, 'fixtures');
const CHILD_TIMEOUT_MS = 15_000;

interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The JSON object the fixture printed as its last stdout line. */
  readonly report: Record<string, unknown>;
}

/** Runs a fixture in a fresh `node`, killed if it outlives CHILD_TIMEOUT_MS. */
function runFixture(name: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<ChildResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, name), ...args], { env: childEnv, timeout: CHILD_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lastLine = stdout.trim().split('\n').at(-1) ?? '';
      let report: Record<string, unknown> = {};
      try {
        report = JSON.parse(lastLine) as Record<string, unknown>;
      } catch {
        // Left empty: the assertions on code and stderr explain the failure.
      }
      resolve({ code, signal, stdout, stderr, report });
    });
  });
}

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('SerialQueue default logger (FR-1.4, NFR-2)', () => {
  test('warns through process.emitWarning with a SerialQueueWarning that carries the fields', async () => {
    jest.useFakeTimers();
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const queue = new SerialQueue();
    const gate = deferred();
    void queue.run('k', () => gate.promise);
    await drain();
    for (let i = 0; i < 11; i += 1) void queue.run('k', () => i);

    expect(emitWarning).toHaveBeenCalledTimes(1);
    const [warning] = emitWarning.mock.calls[0]!;
    expect(warning).toBeInstanceOf(Error);
    expect(warning).toMatchObject({ name: 'SerialQueueWarning', key: 'k', depth: 11, threshold: 10 });

    jest.advanceTimersByTime(5000);
    expect(emitWarning).toHaveBeenCalledTimes(2);
    expect(emitWarning.mock.calls[1]![0]).toMatchObject({ name: 'SerialQueueWarning', key: 'k', waitedMs: 5000, depth: 11 });
    gate.resolve();
    await queue.onIdle();
  });

  test('a real process receives the warnings on process.on("warning") and debug lines only with NODE_DEBUG', async () => {
    const [quiet, debugging] = await Promise.all([
      runFixture('queue-debuglog.mjs', [], { NODE_DEBUG: undefined }),
      runFixture('queue-debuglog.mjs', [], { NODE_DEBUG: 'session-store-mutex' }),
    ]);

    for (const child of [quiet, debugging]) {
      expect(child).toMatchObject({ code: 0, signal: null });
      expect(child.report['results']).toEqual(['holder', ...Array.from({ length: 11 }, (_, i) => `task-${i}`)]);
      expect(child.report['warnings']).toEqual([
        expect.objectContaining({ name: 'SerialQueueWarning', key: 'k', depth: 11, threshold: 10 }),
        expect.objectContaining({ name: 'SerialQueueWarning', key: 'k', waitedMs: expect.any(Number), depth: 11 }),
      ]);
    }
    const debugLine = /^SESSION-STORE-MUTEX \d+: task started after a slow wait \{"key":"k","waitedMs":[\d.]+\}$/gm;
    expect(debugging.stderr.match(debugLine)).toHaveLength(11);
    expect(quiet.stderr).not.toMatch(/SESSION-STORE-MUTEX/);
  });
});

describe('SerialQueue and its host process (NFR-3, NFR-7; nothing runs at import)', () => {
  test('importing the package and running a default queue adds no handle, listener or env var', async () => {
    const child = await runFixture('queue-import.mjs');
    expect(child).toMatchObject({ code: 0, signal: null });
    const { before, afterImport, afterQueue } = child.report;
    expect(before).toMatchObject({ resources: expect.any(Array), listeners: expect.objectContaining({ SIGTERM: expect.any(Number) }), envKeys: expect.any(String) });
    expect(afterImport).toEqual(before);
    expect(afterQueue).toEqual(before);
  });

  test('a default queue leaves promise hooks off; a detectReentry queue turns them on', async () => {
    const [plain, detecting] = await Promise.all([runFixture('queue-hooks.mjs', ['default']), runFixture('queue-hooks.mjs', ['detect'])]);
    expect(plain).toMatchObject({ code: 0, report: { before: 0, after: 0 } });
    // Control: the probe does see hooks once an AsyncLocalStorage has run.
    expect(detecting).toMatchObject({ code: 0, report: { before: 0 } });
    expect(detecting.report['after']).toBeGreaterThan(0);
  });

  test("an armed wait-warning timer is unref'd, so the process exits while a task still waits", async () => {
    const started = performance.now();
    const child = await runFixture('queue-exit.mjs');
    expect(child).toMatchObject({ code: 0, signal: null, report: { timers: 1, hasRef: [false] } });
    // The timer is due in 60 s; leaving well before proves it held nothing open.
    expect(performance.now() - started).toBeLessThan(CHILD_TIMEOUT_MS);
  });
});
