/**
 * The demonstration CLI (issue 5): argument handling, each part as a
 * function on a real temp directory (the built bin end to end: cli.process.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_OPS, parseCliArgs, UsageError } from '../lib/demo/args.js';
import { runFixedPart } from '../lib/demo/fixed-part.js';
import { runLegacyPart } from '../lib/demo/legacy-part.js';
import { main } from '../lib/demo/main.js';
import { countFailures, summariseWaits } from '../lib/demo/part-result.js';
import { Progress } from '../lib/demo/progress.js';
import { runStorePart } from '../lib/demo/store-part.js';
import { makeTempDir, removeTempDir } from './helpers/common.js';

const SECRET = 'cli-test-secret-0123456789abcdef';
const silent = new Progress({ isTTY: false, write: () => true });

let dir: string;
beforeEach(() => {
  dir = makeTempDir('ssm-cli-');
});
afterEach(() => {
  removeTempDir(dir);
});

function captureIo(): { io: Parameters<typeof main>[1]; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (text: string) => (out += text) },
      stderr: { isTTY: false, write: (text: string) => (err += text) },
    },
    out: () => out,
    err: () => err,
  };
}

describe('argument handling', () => {
  test('no flags gives the defaults', () => {
    expect(parseCliArgs([])).toEqual({ ops: DEFAULT_OPS, dir: undefined, isKeep: false, isJson: false, isHelp: false });
  });

  test('every flag is read', () => {
    expect(parseCliArgs(['--ops', '7', '--dir', '/tmp/x', '--keep', '--json', '--help'])).toEqual({
      ops: 7,
      dir: '/tmp/x',
      isKeep: true,
      isJson: true,
      isHelp: true,
    });
  });

  test.each([[['--ops', '0']], [['--ops', '1.5']], [['--ops', 'many']], [['--ops', '100001']], [['--nope']], [['extra']], [['--dir', ' ']]])(
    '%j is a usage error with code ERR_USAGE',
    (argv) => {
      expect(() => parseCliArgs(argv)).toThrow(UsageError);
      try {
        parseCliArgs(argv);
      } catch (error) {
        expect((error as UsageError).code).toBe('ERR_USAGE');
      }
    },
  );

  test('a bad flag prints one line on stderr and exits 2', async () => {
    const { io, out, err } = captureIo();
    await expect(main(['--ops', 'x'], io)).resolves.toBe(2);
    expect(out()).toBe('');
    expect(err().trim().split('\n')).toHaveLength(1);
    expect(err()).toContain('--ops');
  });

  test('--help prints the usage and exits 0 without touching the disk', async () => {
    const { io, out } = captureIo();
    await expect(main(['--help', '--dir', path.join(dir, 'never')], io)).resolves.toBe(0);
    expect(out()).toContain('Usage: session-store-mutex');
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  });
});

describe('the parts, as functions', () => {
  test('the old recipe collides on its shared temp file: ENOENT (NFR-6 reproduced)', async () => {
    const result = await runLegacyPart(dir, 40, silent);
    expect(result.failures.ENOENT).toBeGreaterThan(0);
    expect(result.writes).toBe(40 - Object.values(result.failures).reduce((a, b) => a + b, 0));
    expect(result.isOk).toBeUndefined();
  });

  test('the same saves through encryptToFile all succeed and the file holds the last one (FR-1, NFR-6)', async () => {
    const result = await runFixedPart(dir, SECRET, 40, silent);
    expect(result.failures).toEqual({});
    expect(result.writes).toBe(40);
    expect(result.isOk).toBe(true);
    expect(result.lockWait?.max).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(dir, 'fixed')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  test('the store burst survives the shutdown and restart, and collapses its writes (FR-3, FR-4)', async () => {
    const result = await runStorePart(dir, SECRET, 30, silent);
    expect(result.isOk).toBe(true);
    expect(result.failures).toEqual({});
    expect(result.detail).toMatch(/0 missing/);
    // 30 sessions, 30 tokens and 3 clients, far fewer writes than changes.
    expect(result.operations).toBe(63);
    expect(result.writes).toBeGreaterThan(0);
    expect(result.writes).toBeLessThan(result.operations);
  });
});

describe('helpers', () => {
  test('failures are counted by code, codeless errors as ERR_UNKNOWN', () => {
    const outcomes = [
      { status: 'rejected', reason: Object.assign(new Error('x'), { code: 'ENOENT' }) },
      { status: 'rejected', reason: Object.assign(new Error('x'), { code: 'ENOENT' }) },
      { status: 'rejected', reason: new Error('no code') },
      { status: 'fulfilled', value: 1 },
    ] as const;
    expect(countFailures(outcomes)).toEqual({ ENOENT: 2, ERR_UNKNOWN: 1 });
  });

  test('wait percentiles use the nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(summariseWaits(samples)).toEqual({ p50: 50, p99: 99, max: 100 });
    expect(summariseWaits([])).toBeUndefined();
  });

  test('the progress line is drawn on a terminal only, after the first second, and leaves no timer', () => {
    jest.useFakeTimers();
    try {
      const written: string[] = [];
      const tty = new Progress({ isTTY: true, write: (text) => written.push(text) });
      const pipe = new Progress({ isTTY: false, write: (text) => written.push(text) });
      pipe.update('x', 0, 10);
      expect(jest.getTimerCount()).toBe(0);
      tty.update('x', 1, 10);
      jest.advanceTimersByTime(900);
      expect(written).toEqual([]);
      tty.update('x', 2, 10);
      jest.advanceTimersByTime(200);
      expect(written.at(-1)).toMatch(/x: 2\/10 \(1\.\d s\)$/);
      tty.stop();
      expect(written.at(-1)).toBe('\r\x1b[2K');
      expect(jest.getTimerCount()).toBe(0);
      pipe.stop();
      expect(written.filter((line) => line.includes('x:')).length).toBeGreaterThan(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
