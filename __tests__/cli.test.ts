/**
 * The demonstration CLI (issues 5 and 14): argument handling, the --dir rules,
 * the 80-column screen, the JSON shape, each part as a function on a real temp
 * directory (the built bin end to end: cli.process.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_OPS, MAX_OPS, parseCliArgs, UsageError } from '../lib/demo/args.js';
import { runFixedPart } from '../lib/demo/fixed-part.js';
import { runLegacyPart } from '../lib/demo/legacy-part.js';
import { main, screenWidth } from '../lib/demo/main.js';
import { countFailures, summariseWaits, type PartResult } from '../lib/demo/part-result.js';
import { Progress } from '../lib/demo/progress.js';
import { renderReport } from '../lib/demo/render.js';
import { runStorePart, storeBurstShape } from '../lib/demo/store-part.js';
import { makeWorkDir } from '../lib/demo/work-dir.js';
import { wrap } from '../lib/demo/wrap.js';
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

function usageErrorOf(argv: readonly string[]): UsageError {
  try {
    parseCliArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(argv)} parsed without an error`);
}

describe('argument handling', () => {
  test('no flags gives the defaults', () => {
    expect(parseCliArgs([])).toEqual({ ops: DEFAULT_OPS, dir: undefined, isKeep: false, isJson: false, isHelp: false });
  });

  test('every flag is read, in both --flag value and --flag=value forms', () => {
    const expected = { ops: 7, dir: '/tmp/x', isKeep: true, isJson: true, isHelp: true };
    expect(parseCliArgs(['--ops', '7', '--dir', '/tmp/x', '--keep', '--json', '--help'])).toEqual(expected);
    expect(parseCliArgs(['--ops=7', '--dir=/tmp/x', '--keep', '--json', '-h'])).toEqual(expected);
    expect(parseCliArgs(['--ops', String(MAX_OPS)]).ops).toBe(MAX_OPS);
  });

  test.each([
    [['--ops', '-5'], '--ops takes a whole number from 1 to 100000, got "-5"'],
    [['--ops=-5'], '--ops takes a whole number from 1 to 100000, got "-5"'],
    [['--ops', '0'], 'got "0"'],
    [['--ops', '1.5'], 'got "1.5"'],
    [['--ops', 'many'], 'got "many"'],
    [['--ops', '0x10'], 'got "0x10"'],
    [['--ops', '1e3'], 'got "1e3"'],
    [['--ops', ' 7'], 'got " 7"'],
    [['--ops', '100001'], 'got "100001"'],
    [['--ops'], '--ops needs a value'],
    [['--ops', '--json'], '--ops needs a value'],
    [['--dir'], '--dir needs a value'],
    [['--dir', ' '], '--dir takes a path, got an empty one'],
    [['--keep=yes'], '--keep takes no value'],
    [['--nope'], 'unknown flag --nope'],
    [['-x'], 'unknown flag -x'],
    [['extra'], 'unexpected argument "extra"'],
    [['--ops', '5', '--ops', '6'], '--ops given more than once'],
    [['--ops=5', '--ops', '5'], '--ops given more than once'],
    [['--dir', '/a', '--dir=/b'], '--dir given more than once'],
    [['--json', '--json'], '--json given more than once'],
    [['-h', '--help'], '--help given more than once'],
  ])('%j is a usage error (ERR_USAGE): %s', (argv, message) => {
    const error = usageErrorOf(argv);
    expect(error.code).toBe('ERR_USAGE');
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('\n');
  });

  test.each([[['--ops', '-5']], [['--ops']], [['--nope']], [['--dir', '']], [['--json=1']], [['--ops', '5', '--ops', '6']]])(
    '%j prints exactly one line on stderr, nothing on stdout, and exits 2',
    async (argv) => {
      const { io, out, err } = captureIo();
      await expect(main(argv, io)).resolves.toBe(2);
      expect(out()).toBe('');
      expect(err()).toMatch(/^session-store-mutex: [^\n]+ \(see --help\)\n$/);
    },
  );

  test('--help prints the usage within 80 columns and exits 0 without touching the disk', async () => {
    const { io, out } = captureIo();
    await expect(main(['--help', '--dir', dir], io)).resolves.toBe(0);
    expect(out()).toContain('--ops <n>');
    expect(Math.max(...out().split('\n').map((line) => line.length))).toBeLessThanOrEqual(80);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('--dir must be an existing directory, and nothing is created outside it', () => {
  test('a missing path is a one-line usage error (exit 2) and is not created, nor its parent', async () => {
    const missing = path.join(dir, 'absent', 'x');
    const { io, err } = captureIo();
    await expect(main(['--ops', '1', '--dir', missing], io)).resolves.toBe(2);
    expect(err()).toBe(`session-store-mutex: --dir ${missing} does not exist; give an existing directory (see --help)\n`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a regular file is a one-line usage error (exit 2) and is left as it was', async () => {
    const file = path.join(dir, 'file.txt');
    fs.writeFileSync(file, 'user data');
    const { io, err } = captureIo();
    await expect(main(['--ops', '1', '--dir', file], io)).resolves.toBe(2);
    expect(err()).toBe(`session-store-mutex: --dir ${file} is not a directory (see --help)\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe('user data');
    expect(fs.readdirSync(dir)).toEqual(['file.txt']);
  });

  test('makeWorkDir throws ERR_USAGE for a bad --dir and makes one fresh subdirectory of a good one', async () => {
    await expect(makeWorkDir(path.join(dir, 'absent'))).rejects.toMatchObject({ code: 'ERR_USAGE' });
    const workDir = await makeWorkDir(dir);
    expect(path.dirname(workDir.path)).toBe(dir);
    expect(fs.statSync(workDir.path).isDirectory()).toBe(true);
    await workDir.remove();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

function fakePart(overrides: Partial<PartResult>): PartResult {
  return {
    id: 'library',
    name: 'library',
    operations: 100,
    failed: 0,
    failures: {},
    writes: 100,
    lockWait: { p50: 52.7, p99: 128, max: 129 },
    wallMs: 142,
    isOk: true,
    isExpectedToHold: true,
    detail: 'the same 100 saves through EncryptionService.encryptToFile. '.repeat(4),
    ...overrides,
  };
}

const PARTS = [
  fakePart({ id: 'old-recipe', name: 'old recipe', failed: 97, failures: { ENOENT: 97 }, writes: 3, lockWait: null, wallMs: 1534, isOk: false, isExpectedToHold: false }),
  fakePart({}),
  fakePart({ id: 'stores', name: '3 stores', operations: 210, writes: 5, lockWait: { p50: 0, p99: 0, max: 0 }, wallMs: 8.1 }),
];

describe('the screen (NFR-10)', () => {
  test('at 80 columns: the table, one legend line per column, and no line over 80', () => {
    const lines = renderReport({ parts: PARTS, ops: 100, width: 80 }).split('\n');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(80);
    const header = lines[0]!.split(/\s{2,}/);
    expect(header).toEqual(['part', 'ops', 'failed', 'written', 'wait ms', 'wall ms', 'result']);
    expect(lines[2]).toMatch(/^old recipe\s+100\s+97\s+3\s+no lock\s+1534\s+bug shown$/);
    expect(lines[3]).toMatch(/^library\s+100\s+0\s+100\s+52\.7\/128\/129\s+142\s+ok$/);
    for (const column of header) expect(lines.filter((line) => line.startsWith(`${column} `))).not.toHaveLength(0);
    // Each legend entry fits one line at 80 columns.
    const legendStart = lines.indexOf('') + 1;
    expect(lines.slice(legendStart, legendStart + header.length).map((line) => line.split(/\s{2,}/)[0])).toEqual(header);
  });

  test('the legend explains the store row and the old recipe\'s writes with the run\'s own numbers', () => {
    const text = renderReport({ parts: PARTS, ops: 100, width: 80 });
    const shape = storeBurstShape(100);
    expect(shape).toEqual({ sessions: 100, deletedSessions: 20, tokens: 100, clients: 10, total: 210 });
    expect(text).toContain('3 stores: 100 sessions + 100 tokens + 10 clients');
    expect(text).toContain('old recipe 3 of 100; stores 5 for 210 changes');
  });

  test('long part notes wrap under their label, never leaving a word or bracket alone past the width', () => {
    const lines = renderReport({ parts: PARTS, ops: 100, width: 80 }).split('\n');
    const notes = lines.filter((line) => line.startsWith('library ') || line.startsWith('            '));
    expect(notes.length).toBeGreaterThan(2);
    for (const line of notes) expect(line.length).toBeLessThanOrEqual(80);
  });

  test('below the table\'s width each part becomes a wrapped line, still within the width', () => {
    const lines = renderReport({ parts: PARTS, ops: 100, width: 44 }).split('\n');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(44);
    expect(lines[0]).toMatch(/^old recipe: ops 100, failed 97/);
  });

  test('wrap keeps a hanging indent and cuts a word longer than the line', () => {
    expect(wrap('aaa bbb ccc', 8, '> ', '  ')).toEqual(['> aaa', '  bbb', '  ccc']);
    expect(wrap('x /a/very/long/path y', 8, '', '')).toEqual(['x', '/a/very/', 'long/pat', 'h y']);
    expect(wrap('', 10, '- ')).toEqual(['-']);
  });

  test('the width is the terminal\'s on a TTY (at least 40) and 80 on a pipe', () => {
    const write = (): boolean => true;
    expect(screenWidth({ write, isTTY: true, columns: 120 })).toBe(120);
    expect(screenWidth({ write, isTTY: true, columns: 20 })).toBe(40);
    expect(screenWidth({ write, isTTY: false, columns: 120 })).toBe(80);
    expect(screenWidth({ write })).toBe(80);
  });
});

describe('the parts, as functions', () => {
  test('the old recipe collides on its shared temp file: ENOENT (NFR-6 reproduced)', async () => {
    const result = await runLegacyPart(dir, 40, silent);
    expect(result.failures.ENOENT).toBeGreaterThan(0);
    expect(result.failed).toBe(Object.values(result.failures).reduce((a, b) => a + b, 0));
    expect(result.writes).toBe(40 - result.failed);
    expect(result.isOk).toBe(false);
    expect(result.isExpectedToHold).toBe(false);
    expect(result.lockWait).toBeNull();
  });

  test('the same saves through encryptToFile all succeed and the file holds the last one (FR-1, NFR-6)', async () => {
    const result = await runFixedPart(dir, SECRET, 40, silent);
    expect(result.failures).toEqual({});
    expect(result.failed).toBe(0);
    expect(result.writes).toBe(40);
    expect(result.isOk).toBe(true);
    expect(result.lockWait!.max).toBeGreaterThan(0);
    expect(result.detail).toContain('so the last waits for the 39 before it');
    expect(fs.readdirSync(path.join(dir, 'fixed')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  test('the store burst survives the shutdown and restart, and collapses its writes (FR-3, FR-4)', async () => {
    const result = await runStorePart(dir, SECRET, 30, silent);
    expect(result.isOk).toBe(true);
    expect(result.failures).toEqual({});
    expect(result.detail).toMatch(/0 missing/);
    // 30 sessions, 30 tokens and 3 clients, far fewer writes than changes.
    expect(result.operations).toBe(storeBurstShape(30).total);
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
    expect(summariseWaits([])).toBeNull();
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
