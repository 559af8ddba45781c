/**
 * Issue 9, item 2 and its proof: the cross-process lock between real
 * processes (fixture files-lock-worker.mjs, on the BUILT dist/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { requireBuild, runFixture, startFixture, type RunningChild } from './helpers/reliability-harness.js';
import { makeTempDir, removeTempDir } from './helpers/store-harness.js';

const WORKER = 'files-lock-worker.mjs';
const STALE_MS = 1000;

let dir: string;
let target: string;
beforeAll(() => requireBuild());
beforeEach(() => {
  dir = makeTempDir();
  target = path.join(dir, 'state.json');
});
afterEach(() => removeTempDir(dir));

describe('process lock across processes (FR-1.1, FR-2.3)', () => {
  test('four processes incrementing one counter file under the lock lose no increment', async () => {
    fs.writeFileSync(target, '0');
    const runs = [1, 2, 3, 4].map(() => runFixture(WORKER, ['increment', target, '50', String(STALE_MS)], { timeoutMs: 60_000 }));
    const exits = await Promise.all(runs);
    for (const exit of exits) expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
    expect(fs.readFileSync(target, 'utf8')).toBe('200');
    expect(fs.existsSync(`${target}.lock`)).toBe(false);
  });

  test('a holder SIGKILLed mid-critical-section blocks the others until its entry is stale, not longer; the file stays whole', async () => {
    fs.writeFileSync(target, JSON.stringify({ seq: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', body: '' }));
    const locked = lineSeen('locked');
    const holder = startFixture(WORKER, ['hold', target, String(STALE_MS)], { timeoutMs: 30_000, onLine: locked.onLine });
    await locked.seen;
    const waitingSeen = [lineSeen('waiting'), lineSeen('waiting')];
    const waiters: RunningChild[] = waitingSeen.map((seen) => startFixture(WORKER, ['wait', target, String(STALE_MS)], { timeoutMs: 30_000, onLine: seen.onLine }));
    await Promise.all(waitingSeen.map((seen) => seen.seen));
    // The holder rewrites the file without pause, so the kill lands inside a write of its critical section.
    holder.child.kill('SIGKILL');
    const killedAt = Date.now();
    const lastHeartbeat = fs.statSync(`${target}.lock`).mtimeMs;
    expect((await holder.exit).signal).toBe('SIGKILL');

    const results = await Promise.all(waiters.map(async (waiter) => {
      const exit = await waiter.exit;
      expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(exit.stdout.trim().split('\n').pop()!) as { acquiredAt: number; seq: number };
    }));
    const first = Math.min(...results.map((result) => result.acquiredAt));
    // Never taken over while fresh; taken over once stale (the bound is generous: the machine is shared).
    expect(first - lastHeartbeat).toBeGreaterThanOrEqual(STALE_MS);
    expect(first - killedAt).toBeLessThan(STALE_MS + 10_000);
    // Each waiter read a whole snapshot, and they ran one after the other.
    const seqs = results.map((result) => result.seq).sort((a, b) => a - b);
    expect(seqs[1]).toBe(seqs[0]! + 1);
    expect(seqs[0]).toBeGreaterThanOrEqual(1_000_000);
    const final = JSON.parse(fs.readFileSync(target, 'utf8')) as { seq: number };
    expect(final.seq).toBe(seqs[1]! + 1);
    expect(fs.existsSync(`${target}.lock`)).toBe(false);
    if (process.env.SSM_REPORT_TAKEOVER !== undefined) process.stderr.write(`takeover after kill: ${first - killedAt} ms, after last heartbeat: ${first - lastHeartbeat} ms\n`);
  });
});

describe('process lock across processes: takeover and release never touch a fresh entry (review D1, D2)', () => {
  test('FR-2: sixteen waiters woken together as a dead holder’s entry turns stale: exactly one holds at a time, none is compromised', async () => {
    const herd = 16;
    const holdMs = 150;
    fs.writeFileSync(target, 'x');
    const goAt = Date.now() + 5000;
    fs.writeFileSync(`${target}.lock`, JSON.stringify({ pid: 999_999, hostname: 'gone', token: 'd'.repeat(32), createdAt: 0 }));
    // Stale 300 ms after the waiters start, so that all of them are polling it at that moment.
    const mtime = (goAt + 300 - STALE_MS) / 1000;
    fs.utimesSync(`${target}.lock`, mtime, mtime);
    const runs = Array.from({ length: herd }, () => runFixture(WORKER, ['herd', target, String(STALE_MS), String(holdMs), String(goAt)], { timeoutMs: 60_000 }));
    const holds = (await Promise.all(runs)).map((exit) => {
      expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(exit.stdout.trim()) as { acquiredAt: number; endedAt: number; held: boolean; code?: string };
    });
    const overlapping = holds.flatMap((a, i) => holds.slice(i + 1).filter((b) => a.acquiredAt < b.endedAt && b.acquiredAt < a.endedAt));
    expect(overlapping).toEqual([]);
    expect(holds.filter((hold) => !hold.held)).toEqual([]);
    expect(fs.readdirSync(dir).sort()).toEqual(['state.json']);
  }, 90_000);

  test('FR-2: a holder stalled past staleMs releases after the takeover: the new holder keeps its entry even while a third process tries to create one', async () => {
    // Every move of an entry shows as a 'rename' event of its name (inotify), whoever is scheduled when.
    const events: string[] = [];
    const watcher = fs.watch(dir, (type, name) => events.push(`${type} ${name}`));
    const stalled = lineSeen('locked');
    const staller = startFixture(WORKER, ['stall-release', target, String(STALE_MS)], { timeoutMs: 40_000, onLine: stalled.onLine });
    await stalled.seen;
    const holder = startFixture(WORKER, ['hold-until-released', target, String(STALE_MS)], { timeoutMs: 40_000 });
    // A third party creating the entry whenever the name is free: an old-style release (move aside, then
    // link back) may let it in and then drop the new holder's entry. It spins until the stalled release is done.
    const foreignTemp = path.join(dir, 'foreign-entry');
    fs.writeFileSync(foreignTemp, JSON.stringify({ pid: 999_998, hostname: 'third', token: 'e'.repeat(32), createdAt: 0 }));
    let foreignCreated = false;
    for (const deadline = Date.now() + 30_000; !foreignCreated && !fs.existsSync(`${target}.released`) && Date.now() < deadline; ) {
      try {
        fs.linkSync(foreignTemp, `${target}.lock`);
        foreignCreated = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    const [stallerExit, holderExit] = await Promise.all([staller.exit, holder.exit]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    watcher.close();
    expect({ code: stallerExit.code, stderr: stallerExit.stderr }).toEqual({ code: 0, stderr: '' });
    expect({ code: holderExit.code, stderr: holderExit.stderr }).toEqual({ code: 0, stderr: '' });
    expect(foreignCreated).toBe(false);
    expect(JSON.parse(holderExit.stdout.trim())).toEqual({ held: true });
    // Between the takeover and the end of the stalled release, nobody moved the new holder's entry.
    const [takenAt, releasedAt] = [events.indexOf('rename state.json.taken'), events.indexOf('rename state.json.released')];
    expect(0 <= takenAt && takenAt < releasedAt).toBe(true);
    const during = events.slice(takenAt, releasedAt);
    expect(during.filter((event) => event === 'rename state.json.lock')).toEqual([]);
    expect(fs.existsSync(`${target}.lock`)).toBe(false);
  }, 60_000);
});

/** Resolves `seen` at the first stdout line equal to `expected`. */
function lineSeen(expected: string): { seen: Promise<void>; onLine: (line: string) => void } {
  let resolve!: () => void;
  const seen = new Promise<void>((done) => (resolve = done));
  return { seen, onLine: (line) => (line === expected ? resolve() : undefined) };
}
