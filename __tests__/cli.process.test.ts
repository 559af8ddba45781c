/**
 * The demonstration CLI end to end: the BUILT bin in a real child process
 * (run `npm run build` first; npm test does).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeTempDir } from './helpers/common.js';

const execFileAsync = promisify(execFile);

let dir: string;
beforeEach(() => {
  dir = makeTempDir('ssm-cli-');
});
afterEach(() => {
  removeTempDir(dir);
});

describe('end to end', () => {
  test('the built CLI shows the race and the fix, exits 0 and prints JSON with --json', async () => {
    const bin = path.join(__dirname, '..', 'dist', 'demo', 'bin.js');
    expect(fs.existsSync(bin)).toBe(true); // run `npm run build` first (npm test does)
    const { stdout } = await execFileAsync(process.execPath, [bin, '--ops', '30', '--json', '--dir', dir, '--keep'], {
      timeout: 120_000,
    });
    const report = JSON.parse(stdout) as { ok: boolean; ops: number; dir: string; parts: { name: string; isOk?: boolean; failures: Record<string, number> }[] };
    expect(report.ok).toBe(true);
    expect(report.ops).toBe(30);
    expect(report.parts).toHaveLength(3);
    expect(report.parts[0]!.failures.ENOENT).toBeGreaterThan(0);
    expect(report.parts[1]!.failures).toEqual({});
    expect(report.parts[2]!.isOk).toBe(true);
    // --keep leaves the files for inspection, in a fresh directory inside --dir.
    expect(path.dirname(report.dir)).toBe(dir);
    expect(fs.existsSync(path.join(report.dir, 'fixed', 'oauth_sessions.enc'))).toBe(true);
  });

  test('without --keep the run removes only the directory it made inside --dir', async () => {
    const bin = path.join(__dirname, '..', 'dist', 'demo', 'bin.js');
    fs.writeFileSync(path.join(dir, 'already-here.txt'), 'user data');
    const { stdout } = await execFileAsync(process.execPath, [bin, '--ops', '5', '--dir', dir], { timeout: 120_000 });
    expect(stdout).toContain('OK: the race is reproduced and the fix holds');
    expect(fs.readdirSync(dir)).toEqual(['already-here.txt']);
  });
});
