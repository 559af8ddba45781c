/**
 * Issue 3, behaviour 6: the first write to a directory removes temp files of
 * writers that no longer exist, and never a live process's temp file nor a
 * file of any other naming. Real child processes supply the pids.
 * Issue 10, defect 1: never a temp file younger than TEMP_SWEEP_MIN_AGE_MS,
 * whatever its pid looks like (pids are per PID namespace).
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { createFileSystem } from '../lib/files/fs-seam.js';
import { DirectorySweeper, isProcessAlive, sweepTempFiles, TEMP_SWEEP_MIN_AGE_MS } from '../lib/files/temp-sweep.js';
import { capturingLogger, exited, faultySeam, spawnNode, siblingKeyFile } from './fixtures/encryption/helpers.js';
import { fsError, makeTempDir, removeTempDir } from './helpers/common.js';

let dir: string;
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawnNode('');
  await exited(child);
  return child.pid!;
}

/** Leftovers last written `ageMs` ago: by default old enough to be swept, if their writer is gone. */
function touchAged(ageMs: number, ...names: string[]): void {
  const when = (Date.now() - ageMs) / 1000;
  for (const name of names) {
    fs.writeFileSync(path.join(dir, name), 'leftover');
    fs.utimesSync(path.join(dir, name), when, when);
  }
}

function touch(...names: string[]): void {
  touchAged(TEMP_SWEEP_MIN_AGE_MS + 60_000, ...names);
}

async function createService(seam = faultySeam()) {
  const { logger, lines } = capturingLogger();
  const service = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k'), logger }, { fileSystem: seam.fileSystem });
  await service.initialize();
  return { service, lines, seam };
}

describe('NFR-3: temp files of crashed writers are swept on the first write', () => {
  test('only files of the library naming whose pid is dead are removed', async () => {
    const dead = await deadPid();
    const live = spawnNode('setInterval(() => {}, 1000)');
    try {
      const removable = [`sessions.enc.${dead}.1.0123456789ab.tmp`, `clients.enc.${dead}.42.ba9876543210.tmp`];
      const kept = [
        `sessions.enc.${live.pid}.1.0123456789ab.tmp`,
        'sessions.enc.tmp',
        `sessions.enc.${dead}.1.xyz.tmp`,
        `sessions.enc.${dead}.1.0123456789AB.tmp`,
        `sessions.enc.${dead}.1.0123456789ab.tmp.bak`,
        `sessions.enc.0.1.0123456789ab.tmp`,
        'notes.txt',
      ];
      touch(...removable, ...kept);
      // This process's own pid, written since it started: a sibling instance's save in flight.
      const sibling = `sessions.enc.${process.pid}.7.0123456789ab.tmp`;
      touchAged(5, sibling);
      kept.push(sibling);
      const { service, lines } = await createService();
      await service.encryptToFile('data', path.join(dir, 'sessions.enc'));
      expect(fs.readdirSync(dir).sort()).toEqual([...kept, 'sessions.enc'].sort());
      const swept = lines.filter((line) => line.message.startsWith('swept'));
      expect(swept).toHaveLength(1);
      expect(swept[0]!.fields).toEqual({ directory: fs.realpathSync(dir), removed: expect.arrayContaining(removable), failed: [] });
    } finally {
      live.kill();
      await exited(live);
    }
  });

  test('a directory is swept once per service: a leftover appearing later stays', async () => {
    const dead = await deadPid();
    const { service, seam } = await createService();
    await service.encryptToFile('1', path.join(dir, 'a.enc'));
    touch(`a.enc.${dead}.1.0123456789ab.tmp`);
    await service.encryptToFile('2', path.join(dir, 'a.enc'));
    await service.encryptToFile('3', path.join(dir, 'b.enc'));
    expect(fs.readdirSync(dir)).toContain(`a.enc.${dead}.1.0123456789ab.tmp`);
    expect(seam.calls.get('readdir')).toBe(1);
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, `c.enc.${dead}.1.0123456789ab.tmp`), '');
    const old = (Date.now() - TEMP_SWEEP_MIN_AGE_MS - 60_000) / 1000;
    fs.utimesSync(path.join(sub, `c.enc.${dead}.1.0123456789ab.tmp`), old, old);
    await service.encryptToFile('4', path.join(sub, 'c.enc'));
    expect(fs.readdirSync(sub)).toEqual(['c.enc']);
    expect(seam.calls.get('readdir')).toBe(2);
  });

  test('concurrent first writes to one directory share one sweep', async () => {
    const { service, seam } = await createService();
    await Promise.all(['a', 'b', 'c'].map((name) => service.encryptToFile(name, path.join(dir, `${name}.enc`))));
    expect(seam.calls.get('readdir')).toBe(1);
  });

  test('a sweep that cannot read the directory is logged with its code and never fails the save', async () => {
    const seam = faultySeam();
    seam.arm('readdir', fsError('EACCES', 'scandir'));
    const { service, lines } = await createService(seam);
    await service.encryptToFile('data', path.join(dir, 'a.enc'));
    expect(await service.decryptFromFile(path.join(dir, 'a.enc'))).toBe('data');
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.fields)).toEqual([{ directory: fs.realpathSync(dir), code: 'EACCES' }]);
  });

  test('a leftover that cannot be removed is reported with its code and the save succeeds', async () => {
    const dead = await deadPid();
    const name = `a.enc.${dead}.1.0123456789ab.tmp`;
    touch(name);
    const seam = faultySeam();
    seam.arm('unlink', fsError('EPERM', 'unlink'));
    const { service, lines } = await createService(seam);
    await service.encryptToFile('data', path.join(dir, 'a.enc'));
    expect(fs.readdirSync(dir).sort()).toEqual(['a.enc', name]);
    expect(lines.find((line) => line.message.startsWith('swept'))!.fields).toMatchObject({ removed: [], failed: [{ name, code: 'EPERM' }] });
  });

  test('the first write to a directory that does not exist yet sweeps nothing and creates it', async () => {
    const { service, lines } = await createService();
    await service.encryptToFile('data', path.join(dir, 'new', 'a.enc'));
    expect(fs.readdirSync(path.join(dir, 'new'))).toEqual(['a.enc']);
    expect(lines.filter((line) => line.level !== 'info' || line.message.startsWith('swept'))).toEqual([]);
  });
});

describe('the age decides, pid liveness only adds caution (NFR-3, NFR-6)', () => {
  test('a dead-looking pid’s temp file younger than 10 minutes is kept: its writer may live in another PID namespace', async () => {
    const dead = await deadPid();
    const inFlight = `sessions.enc.${dead}.1.0123456789ab.tmp`;
    const almost = `clients.enc.${dead}.2.0123456789ab.tmp`;
    const abandoned = `tokens.enc.${dead}.3.0123456789ab.tmp`;
    touchAged(5, inFlight);
    touchAged(TEMP_SWEEP_MIN_AGE_MS - 5000, almost);
    touchAged(TEMP_SWEEP_MIN_AGE_MS + 5000, abandoned);
    const { service } = await createService();
    await service.encryptToFile('data', path.join(dir, 'sessions.enc'));
    expect(fs.readdirSync(dir).sort()).toEqual([almost, 'sessions.enc', inFlight].sort());
  });

  test('an old temp file of a live pid is still kept (liveness adds caution)', async () => {
    const live = spawnNode('setInterval(() => {}, 1000)');
    try {
      const name = `sessions.enc.${live.pid}.1.0123456789ab.tmp`;
      touchAged(TEMP_SWEEP_MIN_AGE_MS * 6, name);
      const { service } = await createService();
      await service.encryptToFile('data', path.join(dir, 'sessions.enc'));
      expect(fs.readdirSync(dir).sort()).toEqual(['sessions.enc', name].sort());
    } finally {
      live.kill();
      await exited(live);
    }
  });

  test('the temp file of a save in flight in another namespace survives a rival’s first save, and its rename succeeds', async () => {
    // What the review reproduced with `unshare --pid`: A's temp file carries a pid that is dead here.
    const dead = await deadPid();
    const temp = path.join(dir, `sessions.enc.${dead}.1.0123456789ab.tmp`);
    fs.writeFileSync(temp, 'A is writing this');
    const { service } = await createService();
    await service.encryptToFile('B', path.join(dir, 'other.enc'));
    expect(() => fs.renameSync(temp, path.join(dir, 'sessions.enc'))).not.toThrow();
  });
});

describe('the sweeper remembers a bounded number of directories (NFR-3)', () => {
  test('past its capacity it forgets the least recently used directory, and sweeps it again when it comes back', async () => {
    const seam = faultySeam();
    const sweeper = new DirectorySweeper(seam.fileSystem, () => undefined, 3);
    const directories = ['a', 'b', 'c', 'd'].map((name) => path.join(dir, name));
    for (const directory of directories.slice(0, 3)) await sweeper.sweepOnce(directory);
    await sweeper.sweepOnce(directories[0]!); // a is now the most recent; b the least
    await sweeper.sweepOnce(directories[3]!);
    expect(sweeper.size).toBe(3);
    expect(seam.calls.get('readdir')).toBe(4);
    await sweeper.sweepOnce(directories[0]!);
    expect(seam.calls.get('readdir')).toBe(4);
    await sweeper.sweepOnce(directories[1]!);
    expect(seam.calls.get('readdir')).toBe(5);
    expect(sweeper.size).toBe(3);
  });

  test('200,000 distinct directories leave at most the default capacity remembered', async () => {
    const sweeper = new DirectorySweeper({ ...faultySeam().fileSystem, readdir: async () => [] }, () => undefined);
    for (let i = 0; i < 200_000; i += 1) await sweeper.sweepOnce(`/nonexistent/${i}`);
    expect(sweeper.size).toBeLessThanOrEqual(1024);
  });
});

describe('NFR-3: sweepTempFiles on its own (a seam for exact mtimes, an injected liveness check)', () => {
  const gone = (): boolean => false;
  /** The real file system, with lstat answering `mtimes[name]` for the names it lists. */
  const withMtimes = (mtimes: Record<string, number>) =>
    createFileSystem({
      stat: async (file) => {
        const mtimeMs = mtimes[path.basename(file)];
        return mtimeMs === undefined ? fs.promises.lstat(file) : { mtimeMs, isFile: () => true };
      },
    });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  test('files of any other naming are never candidates, however old and whoever "owns" them', async () => {
    touch('notes.txt', 'sessions.enc.tmp', 'sessions.enc.999999.1.xyz.tmp');
    const result = await sweepTempFiles(createFileSystem(), dir, gone);
    expect(result).toEqual({ removed: [], failed: [] });
    expect(fs.readdirSync(dir)).toHaveLength(3);
  });

  test('a temp file exactly TEMP_SWEEP_MIN_AGE_MS old is old enough; 1 ms younger is not', async () => {
    jest.useFakeTimers({ now: Date.now(), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const [due, young] = ['a.enc.999999.1.0123456789ab.tmp', 'b.enc.999999.1.0123456789ab.tmp'];
    touch(due, young);
    const seam = withMtimes({ [due]: Date.now() - TEMP_SWEEP_MIN_AGE_MS, [young]: Date.now() - TEMP_SWEEP_MIN_AGE_MS + 1 });
    expect(await sweepTempFiles(seam, dir, gone)).toEqual({ removed: [due], failed: [] });
    expect(fs.readdirSync(dir)).toEqual([young]);
  });

  test('a temp file whose lstat fails (EACCES) is left alone and not reported', async () => {
    const name = 'a.enc.999999.1.0123456789ab.tmp';
    touch(name);
    const seam = createFileSystem({ stat: () => Promise.reject(fsError('EACCES', 'lstat')) });
    expect(await sweepTempFiles(seam, dir, gone)).toEqual({ removed: [], failed: [] });
    expect(fs.readdirSync(dir)).toEqual([name]);
  });

  test('a temp file that another sweeper removed first (unlink ENOENT) is neither removed nor failed', async () => {
    touch('a.enc.999999.1.0123456789ab.tmp');
    const seam = createFileSystem({ unlink: () => Promise.reject(fsError('ENOENT', 'unlink')) });
    expect(await sweepTempFiles(seam, dir, gone)).toEqual({ removed: [], failed: [] });
  });

  test('this process’s own pid: an old file written before this process started is a predecessor’s and is removed, whatever liveness says', async () => {
    const name = `a.enc.${process.pid}.1.0123456789ab.tmp`;
    touch(name);
    const alive = jest.fn(() => true);
    expect(await sweepTempFiles(createFileSystem(), dir, alive)).toEqual({ removed: [name], failed: [] });
    expect(alive).not.toHaveBeenCalled();
  });

  test('this process’s own pid: a file written 2 s or less before this process started may be its own and is kept; 2,001 ms before is removed', async () => {
    // An hour on from the start, so that both files are old enough by age.
    jest.useFakeTimers({ now: Date.now(), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const started = performance.timeOrigin;
    jest.setSystemTime(started + 3_600_000);
    const [kept, early, removed] = [1, 2, 3].map((n) => `a.enc.${process.pid}.${n}.0123456789ab.tmp`) as [string, string, string];
    touch(kept, early, removed);
    const seam = withMtimes({ [kept]: started - 2000, [early]: started - 1999, [removed]: started - 2001 });
    expect(await sweepTempFiles(seam, dir, gone)).toEqual({ removed: [removed], failed: [] });
    expect(fs.readdirSync(dir).sort()).toEqual([early, kept].sort());
  });

  test('isProcessAlive: ESRCH means gone; EPERM means alive under another user; a signal that is delivered means alive', () => {
    const kill = jest.spyOn(process, 'kill');
    kill.mockImplementationOnce(() => {
      throw fsError('ESRCH', 'kill');
    });
    expect(isProcessAlive(123)).toBe(false);
    kill.mockImplementationOnce(() => {
      throw fsError('EPERM', 'kill');
    });
    expect(isProcessAlive(123)).toBe(true);
    kill.mockImplementationOnce(() => true);
    expect(isProcessAlive(123)).toBe(true);
    expect(kill).toHaveBeenCalledWith(123, 0);
  });
});
