/**
 * The demonstration CLI end to end (issue 14): the BUILT bin in real child
 * processes (run `npm run build` first; npm test does). It must leave no trace.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { JsonReport } from '../lib/demo/main.js';
import { makeTempDir, removeTempDir } from './helpers/common.js';

const execFileAsync = promisify(execFile);
const BIN = path.join(__dirname, '..', 'dist', 'demo', 'bin.js');
const CHILD_TIMEOUT_MS = 120_000;

let dir: string;
beforeEach(() => {
  dir = makeTempDir('ssm-cli-');
});
afterEach(() => {
  removeTempDir(dir);
});

/** An environment whose HOME and TMPDIR are empty directories of the test's own, to prove nothing lands there. */
function isolatedEnv(): { env: NodeJS.ProcessEnv; home: string; tmp: string } {
  const home = fs.mkdtempSync(path.join(dir, 'home-'));
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  return { env: { ...process.env, HOME: home, TMPDIR: tmp }, home, tmp };
}

describe('end to end (the built bin)', () => {
  beforeAll(() => {
    expect(fs.existsSync(BIN)).toBe(true); // run `npm run build` first (npm test does)
  });

  test('--json: the race and the fix, exit 0, and every part has the same fields with a boolean isOk', async () => {
    const { stdout } = await execFileAsync(process.execPath, [BIN, '--ops', '30', '--json', '--dir', dir, '--keep'], { timeout: CHILD_TIMEOUT_MS });
    const report = JSON.parse(stdout) as JsonReport;
    expect(Object.keys(report).sort()).toEqual(['dir', 'ok', 'ops', 'parts']);
    expect(report.ok).toBe(true);
    expect(report.ops).toBe(30);
    expect(report.parts.map((part) => part.id)).toEqual(['old-recipe', 'library', 'stores']);
    const fields = ['detail', 'failed', 'failures', 'id', 'isExpectedToHold', 'isOk', 'lockWait', 'name', 'operations', 'wallMs', 'writes'];
    for (const part of report.parts) {
      expect(Object.keys(part).sort()).toEqual(fields);
      expect(typeof part.isOk).toBe('boolean');
    }
    expect(report.parts[0]!.failures.ENOENT).toBeGreaterThan(0);
    expect(report.parts[0]).toMatchObject({ isOk: false, isExpectedToHold: false, lockWait: null });
    expect(report.parts[1]).toMatchObject({ isOk: true, failures: {}, failed: 0 });
    expect(report.parts[2]).toMatchObject({ isOk: true, operations: 63 });
    // --keep leaves the files for inspection, in a fresh directory inside --dir.
    expect(path.dirname(report.dir!)).toBe(dir);
    expect(fs.existsSync(path.join(report.dir!, 'fixed', 'oauth_sessions.enc'))).toBe(true);
  });

  test('without --keep the run leaves --dir, HOME and TMPDIR exactly as they were; the screen fits 80 columns', async () => {
    const { env, home, tmp } = isolatedEnv();
    fs.writeFileSync(path.join(dir, 'already-here.txt'), 'user data');
    const { stdout } = await execFileAsync(process.execPath, [BIN, '--ops', '5', '--dir', dir], { env, timeout: CHILD_TIMEOUT_MS });
    expect(stdout).toContain('OK: ');
    expect(Math.max(...stdout.split('\n').map((line) => line.length))).toBeLessThanOrEqual(80);
    expect(fs.readdirSync(dir).sort()).toEqual(['already-here.txt', path.basename(home), path.basename(tmp)].sort());
    expect(fs.readdirSync(home)).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test('without --dir the fresh directory goes in TMPDIR and is removed; --json says dir: null', async () => {
    const { env, home, tmp } = isolatedEnv();
    const { stdout } = await execFileAsync(process.execPath, [BIN, '--ops', '3', '--json'], { env, timeout: CHILD_TIMEOUT_MS });
    expect((JSON.parse(stdout) as JsonReport).dir).toBeNull();
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(fs.readdirSync(home)).toEqual([]);
  });

  test.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s mid-run removes the working directory and ends the process by that signal', async (signal) => {
    // Enough old-recipe saves (one scrypt each) that the run is still going when the signal lands.
    const child = spawn(process.execPath, [BIN, '--ops', '5000', '--dir', dir], { stdio: 'ignore', timeout: CHILD_TIMEOUT_MS });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, by) => resolve(by)));
    await new Promise<void>((resolve) => {
      const watcher = fs.watch(dir, () => {
        if (fs.readdirSync(dir).length === 0) return;
        watcher.close();
        resolve();
      });
    });
    try {
      child.kill(signal);
      await expect(exited).resolves.toBe(signal);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
