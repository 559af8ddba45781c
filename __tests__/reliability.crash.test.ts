/**
 * Crash consistency (issue 6, part 1; NFR-6, FR-1): a writer process saves
 * self-validating snapshots in a tight loop through encryptToFile (durable)
 * and is SIGKILLed at a point chosen from its own progress (after a random
 * number of acknowledged saves), again and again. After every kill the file
 * decrypts to one whole snapshot, the last acknowledged one or the one that
 * was in flight, and the next writer's first save sweeps the dead writer's
 * temp files. Runs against the BUILT package (`npm run build` first).
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { TEMP_SWEEP_MIN_AGE_MS } from '../lib/files/temp-sweep.js';
import { parseSnapshot, requireBuild, startFixture, tempFilesIn } from './helpers/reliability-harness.js';
import { makeTempDir, removeTempDir } from './helpers/store-harness.js';

const FIXTURE = 'reliability-crash-writer.mjs';
const KEY = 'crash-test-key-5be0a1';
const KILLS = 55;
const CHILD_TIMEOUT_MS = 15_000;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

let dir: string;
beforeAll(requireBuild);
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

/** What one kill left behind, compared in one piece so a failure names its round. */
interface Round {
  round: number;
  exit: { signal: NodeJS.Signals | null; isTimedOut: boolean; stderr: string };
  /** The writer acknowledged at least its quota, numbered on from the snapshot it found on disk. */
  isContiguous: boolean;
  /** Temp files of earlier (dead) writers left after this writer's first save. */
  unsweptAfterFirstSave: string[];
  /** Which snapshot the file holds: 'acknowledged' (the last one), 'in flight' (the next), or what else it is. */
  onDisk: string;
  /** Temp files of anyone but the dead writer (never expected: the next writer has not started). */
  foreignTemps: string[];
}

describe('a writer killed with SIGKILL mid-save (part 1, NFR-6)', () => {
  test(`after each of ${KILLS} kills the file is one whole snapshot, never older than the last acknowledged save, and the next writer sweeps the dead one's temp files`, async () => {
    const service = new EncryptionService({ encryptionKey: KEY, keyStoragePath: path.join(dir, 'key'), logger: silent });
    await service.initialize();
    const target = path.join(dir, 'state.enc');
    let onDiskSeq = 0;
    let killsMidWrite = 0;

    for (let round = 1; round <= KILLS; round += 1) {
      const killAfter = randomInt(1, 9);
      const acked: number[] = [];
      let unsweptAfterFirstSave: string[] = [];
      const { child, exit } = startFixture(FIXTURE, [dir, KEY], {
        timeoutMs: CHILD_TIMEOUT_MS,
        onLine: (line, writer) => {
          const match = /^ack (\d+)$/.exec(line);
          if (match === null) return;
          acked.push(Number(match[1]));
          if (acked.length === 1) unsweptAfterFirstSave = tempFilesIn(dir).filter(({ pid }) => pid !== writer.pid).map(({ name }) => name);
          if (acked.length === killAfter) writer.kill('SIGKILL');
        },
      });
      const { signal, isTimedOut, stderr } = await exit;
      const lastAcked = acked.at(-1) ?? onDiskSeq;
      const isContiguous = acked.length >= killAfter && acked.every((seq, index) => seq === onDiskSeq + 1 + index);

      expect(fs.statSync(target).size).toBeGreaterThan(0);
      const snapshot = parseSnapshot((await service.decryptFromFile(target))!);
      const temps = tempFilesIn(dir);
      const deadTemps = temps.filter(({ pid }) => pid === child.pid);
      const onDisk = snapshot.seq === lastAcked ? 'acknowledged' : snapshot.seq === lastAcked + 1 ? 'in flight' : `seq ${snapshot.seq}, last acknowledged ${lastAcked}`;
      expect<Round>({
        round,
        exit: { signal, isTimedOut, stderr },
        isContiguous,
        unsweptAfterFirstSave,
        onDisk,
        foreignTemps: temps.filter(({ pid }) => pid !== child.pid).map(({ name }) => name),
      }).toEqual({
        round,
        exit: { signal: 'SIGKILL', isTimedOut: false, stderr: '' },
        isContiguous: true,
        unsweptAfterFirstSave: [],
        onDisk: expect.stringMatching(/^(acknowledged|in flight)$/),
        foreignTemps: [],
      });
      if (deadTemps.length > 0) killsMidWrite += 1;
      onDiskSeq = snapshot.seq;
      // The sweep takes only temp files older than its minimum age (issue 10): let the dead writer's leftovers age.
      const abandoned = (Date.now() - TEMP_SWEEP_MIN_AGE_MS - 60_000) / 1000;
      for (const { name } of deadTemps) fs.utimesSync(path.join(dir, name), abandoned, abandoned);
    }

    // A last writer that exits normally: its first save sweeps the last dead writer's temp files.
    const last = await startFixture(FIXTURE, [dir, KEY, 'once'], { timeoutMs: CHILD_TIMEOUT_MS }).exit;
    expect({ code: last.code, stdout: last.stdout, stderr: last.stderr }).toEqual({ code: 0, stdout: `ack ${onDiskSeq + 1}\n`, stderr: '' });
    expect(fs.readdirSync(dir)).toEqual(['state.enc']);
    expect(parseSnapshot((await service.decryptFromFile(target))!).seq).toBe(onDiskSeq + 1);
    // The kills really landed inside writes, so the sweep had leftovers to remove.
    expect(killsMidWrite).toBeGreaterThan(0);
  }, 90_000);
});

describe('a writer restarted under the pid of the one that crashed (part 1)', () => {
  // In a container the server is PID 1 (or another fixed pid) on every
  // start, so a crashed predecessor's temp files carry this process's own
  // pid. They are the ones written before this process started.
  test('the first save sweeps temp files of its own pid written before this process started', async () => {
    const service = new EncryptionService({ encryptionKey: KEY, keyStoragePath: path.join(dir, 'key'), logger: silent });
    await service.initialize();
    const leftover = path.join(dir, `state.enc.${process.pid}.7.0123456789ab.tmp`);
    fs.writeFileSync(leftover, 'a predecessor crashed here');
    const beforeStart = new Date(Math.min(performance.timeOrigin, Date.now() - TEMP_SWEEP_MIN_AGE_MS) - 60_000);
    fs.utimesSync(leftover, beforeStart, beforeStart);
    await service.encryptToFile('fresh', path.join(dir, 'state.enc'));
    expect(fs.readdirSync(dir)).toEqual(['state.enc']);
  });

  test('a temp file of its own pid written since this process started is left alone: a sibling instance may be about to rename it', async () => {
    const service = new EncryptionService({ encryptionKey: KEY, keyStoragePath: path.join(dir, 'key'), logger: silent });
    await service.initialize();
    const sibling = `state.enc.${process.pid}.7.0123456789ab.tmp`;
    fs.writeFileSync(path.join(dir, sibling), 'a sibling instance is writing this');
    await service.encryptToFile('fresh', path.join(dir, 'state.enc'));
    expect(fs.readdirSync(dir).sort()).toEqual(['state.enc', sibling].sort());
  });
});
