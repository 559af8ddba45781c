/**
 * Rival processes (issue 6, part 2; NFR-6, FR-1): four processes save the
 * same file at the same time, each with its own EncryptionService (so no
 * lock is shared: the library serialises within a process only). Across
 * processes the last rename wins, but no save may fail (no ENOENT from a
 * shared temp name, no sweep of a live rival's temp file), no reader may see
 * a torn file, and nothing may be left behind. Runs against the BUILT package.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { parseSnapshot, requireBuild, startFixture, type ChildExit, type RunningChild } from './helpers/reliability-harness.js';
import { makeTempDir, removeTempDir } from './helpers/store-harness.js';

const KEY = 'rivals-test-key-93d2f0';
const WRITERS = 4;
const SAVES_EACH = 250;
const CHILD_TIMEOUT_MS = 45_000;

let dir: string;
beforeAll(requireBuild);
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

interface Report {
  writer: number;
  saves: number;
  reads: number;
  failures: { op: string; code: string }[];
  startedAt: number;
  endedAt: number;
}

const reportOf = (exit: ChildExit): Report => JSON.parse(exit.stdout.trim().split('\n').at(-1)!) as Report;

describe(`${WRITERS} processes saving one file at once (part 2, NFR-6)`, () => {
  test(`${SAVES_EACH} saves each: none fails, every read-back is whole, the file ends as some writer's last save, no temp file remains`, async () => {
    let ready = 0;
    let release!: () => void;
    const allReady = new Promise<void>((resolve) => (release = resolve));
    const children: RunningChild[] = Array.from({ length: WRITERS }, (_, writer) =>
      startFixture('reliability-rival.mjs', [dir, KEY, String(writer), String(SAVES_EACH)], {
        timeoutMs: CHILD_TIMEOUT_MS,
        onLine: (line) => {
          if (line === 'ready' && ++ready === WRITERS) release();
        },
      }),
    );
    // A child that dies before "ready" must fail the test, not hang it.
    await Promise.race([allReady, Promise.all(children.map(({ exit }) => exit))]);
    // All four start from one line each, so their loops overlap from the first save.
    for (const { child } of children) child.stdin.write('go\n');
    const exits = await Promise.all(children.map(({ exit }) => exit));

    expect(exits.map(({ code, signal, isTimedOut, stderr }) => ({ code, signal, isTimedOut, stderr }))).toEqual(
      Array.from({ length: WRITERS }, () => ({ code: 0, signal: null, isTimedOut: false, stderr: '' })),
    );
    const reports = exits.map(reportOf);
    expect(reports.map(({ writer, saves, reads, failures }) => ({ writer, saves, reads, failures }))).toEqual(
      Array.from({ length: WRITERS }, (_, writer) => ({ writer, saves: SAVES_EACH, reads: SAVES_EACH / 10, failures: [] })),
    );
    // The writers really ran at the same time: every one started before any one finished.
    expect(Math.max(...reports.map(({ startedAt }) => startedAt))).toBeLessThan(Math.min(...reports.map(({ endedAt }) => endedAt)));

    const service = new EncryptionService({ encryptionKey: KEY, keyStoragePath: path.join(dir, 'key') });
    await service.initialize();
    const final = parseSnapshot((await service.decryptFromFile(path.join(dir, 'state.enc')))!);
    // Each process renames its saves in order, so the last rename of all is some writer's last save.
    expect({ writer: final.writer < WRITERS, seq: final.seq }).toEqual({ writer: true, seq: SAVES_EACH });
    expect(fs.readdirSync(dir)).toEqual(['state.enc']);
  }, 60_000);
});
