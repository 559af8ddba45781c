/**
 * Checkpoints driven directly on a store engine (issues 15 and 16), on real
 * files: when a journal has outgrown its snapshot, what a checkpoint leaves
 * on disk and in the engine, and when it gives up (a journal replaced,
 * rewritten or removed meanwhile) or stops (its lock taken over).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { nodeFileSystem } from '../lib/files/fs-seam.js';
import { CHECKPOINT_MIN_BYTES, checkpoint, needsCheckpoint } from '../lib/stores/checkpoint.js';
import { formatHeader } from '../lib/stores/journal-format.js';
import { StoreEngine } from '../lib/stores/store-engine.js';
import type { Deferred } from './helpers/common.js';
import { SPEC, catchUpKind, change, engineFiles, save, type Rec } from './helpers/engine-harness.js';
import { createService, deferred, makeTempDir, recordingStoreLogger, removeTempDir } from './helpers/store-harness.js';

let dir: string;
const { file, journal, engineOn, engineWithJournal, serviceLosingJournal, reloaded, journalLines, snapshotIdOnDisk, tempsLeft } = engineFiles(() => dir);

beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

describe('checkpoints (FR-1.1, invariant 6 of DESIGN section 7)', () => {
  test('a journal is checkpointed only once it outgrows both its snapshot and 256 KiB', async () => {
    const engine = engineOn(await createService(dir));
    change(engine, 'base', 'b'.repeat(40_000));
    await save(engine);
    change(engine, 'first', 'f');
    await save(engine);
    expect(engine.sync.journal).toBeDefined();
    const { snapshotSize } = engine.sync;
    // A journal past its snapshot (80 KB) but under 256 KiB: no checkpoint yet.
    change(engine, 'c1', 'c'.repeat(100_000));
    await save(engine);
    expect(engine.sync.journal!.offset).toBeGreaterThan(snapshotSize);
    expect(engine.sync.journal!.offset).toBeLessThan(CHECKPOINT_MIN_BYTES);
    expect(needsCheckpoint(engine)).toBe(false);
    change(engine, 'c2', 'c'.repeat(100_000));
    await save(engine);
    expect(engine.sync.journal!.offset).toBeGreaterThan(CHECKPOINT_MIN_BYTES);
    expect(needsCheckpoint(engine)).toBe(true);
    expect(await checkpoint(engine, 'sessions')).toBe(true);
    // Now the snapshot (~480 KB) is the larger bound: a journal past 256 KiB but under it waits.
    expect(engine.sync.snapshotSize).toBeGreaterThan(CHECKPOINT_MIN_BYTES + 200_000);
    change(engine, 'd1', 'd'.repeat(200_000));
    await save(engine);
    expect(engine.sync.journal!.offset).toBeGreaterThan(CHECKPOINT_MIN_BYTES);
    expect(engine.sync.journal!.offset).toBeLessThan(engine.sync.snapshotSize);
    expect(needsCheckpoint(engine)).toBe(false);
    change(engine, 'd2', 'd'.repeat(200_000));
    await save(engine);
    expect(needsCheckpoint(engine)).toBe(true);
    expect(await reloaded()).toEqual({ base: 40_000, first: 1, c1: 100_000, c2: 100_000, d1: 200_000, d2: 200_000 });
  });

  test('a journal of exactly 256 KiB has not outgrown the bound; one line more has', async () => {
    const engine = engineOn(await createService(dir));
    change(engine, 'base', 'b'.repeat(40_000));
    await save(engine);
    const offset = (): number => engine.sync.journal?.offset ?? 0;
    // A line is base64 of a 16-byte IV, a 16-byte tag and the entry's JSON, dots between, a newline after.
    const entryLength = (id: string, pad: string): number => JSON.stringify({ put: [{ id, pad }], del: [] }).length;
    const lineLength = (id: string, pad: string): number => 24 + 1 + 24 + 1 + 4 * Math.ceil(entryLength(id, pad) / 3) + 1;
    for (let index = 0; offset() === 0 || (CHECKPOINT_MIN_BYTES - offset()) % 4 !== 3; index += 1) {
      change(engine, `small-${index}`, 's');
      await save(engine);
    }
    const padLength = 3 * ((CHECKPOINT_MIN_BYTES - offset() - 51) / 4) - entryLength('exact', '');
    expect(lineLength('exact', 'e'.repeat(padLength))).toBe(CHECKPOINT_MIN_BYTES - offset());
    change(engine, 'exact', 'e'.repeat(padLength));
    await save(engine);
    expect(offset()).toBe(CHECKPOINT_MIN_BYTES);
    expect(engine.sync.snapshotSize).toBeLessThan(CHECKPOINT_MIN_BYTES);
    expect(needsCheckpoint(engine)).toBe(false);
    change(engine, 'one-more', 'o');
    await save(engine);
    expect(needsCheckpoint(engine)).toBe(true);
  });

  // Counted in /proc (Linux, where CI runs); elsewhere skipped.
  (fs.existsSync('/proc/self/fd') ? test : test.skip)('NFR-3: a checkpoint leaves no file descriptor open', async () => {
    const engine = await engineWithJournal(await createService(dir));
    const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = openDescriptors();
    expect(await checkpoint(engine, 'sessions')).toBe(true);
    expect(openDescriptors()).toBe(before);
  });

  test('a change pending when a checkpoint starts is written first: the new snapshot holds it and the new journal is empty', async () => {
    const engine = await engineWithJournal(await createService(dir));
    change(engine, 'pending', 'p');
    expect(await checkpoint(engine, 'sessions')).toBe(true);
    expect(engine.hasUnsavedChanges).toBe(false);
    expect(journalLines()).toEqual([expect.stringMatching(new RegExp(` ${snapshotIdOnDisk()}$`)), '']);
    fs.rmSync(journal());
    expect(await reloaded()).toEqual({ base: 70_000, 'in-journal': 1, pending: 1 });
  });

  test('a new journal gone right after the checkpoint published it: the engine knows it has none, and its next save starts one', async () => {
    const { service, lose } = await serviceLosingJournal();
    const engine = await engineWithJournal(service);
    lose.journal = true;
    expect(await checkpoint(engine, 'sessions')).toBe(true);
    lose.journal = false;
    expect(engine.sync.journal).toBeUndefined();
    expect(engine.sync.snapshotId).toBe(snapshotIdOnDisk());
    change(engine, 'after', 'a');
    await save(engine);
    expect(journalLines()[0]).toMatch(new RegExp(` ${snapshotIdOnDisk()}$`));
    expect(await reloaded()).toEqual({ base: 70_000, 'in-journal': 1, after: 1 });
  });

  test('a store without a journal needs no checkpoint, and one asked for writes nothing and resolves false', async () => {
    const engine = engineOn(await createService(dir));
    change(engine, 'base', 'b'.repeat(100));
    await save(engine);
    expect(needsCheckpoint(engine)).toBe(false);
    const before = fs.readFileSync(file());
    expect(await checkpoint(engine, 'sessions')).toBe(false);
    expect(fs.readFileSync(file()).equals(before)).toBe(true);
    expect(fs.existsSync(journal())).toBe(false);
    expect(tempsLeft()).toEqual([]);
  });

  test('after a checkpoint the engine knows the new snapshot and journal: it is current, and another writer\'s next line is read as a tail', async () => {
    const engine = await engineWithJournal(await createService(dir));
    expect(await checkpoint(engine, 'sessions')).toBe(true);
    const id = snapshotIdOnDisk();
    expect(engine.sync.snapshotId).toBe(id);
    expect(journalLines()).toEqual([expect.stringMatching(new RegExp(`^ssm-journal 1 [0-9a-f]{32} ${id}$`)), '']);
    expect(engine.sync.journal!.offset).toBe(fs.statSync(journal()).size);
    expect(engine.sync.isCurrent()).toBe(true);
    const other = engineOn(await createService(dir));
    await save(other);
    change(other, 'theirs', 't');
    await save(other);
    expect(await catchUpKind(engine)).toBe('tail');
    expect(engine.sync.records.get('theirs')).toEqual({ id: 'theirs', pad: 't' });
  });
});

describe('a checkpoint publishes only onto the journal it read, under a lock it still holds (FR-1.1, NFR-8)', () => {
  const isSnapshotTemp = (target: string): boolean => /^recs\.enc\.\d+\.\d+\.[0-9a-f]{12}\.tmp$/.test(path.basename(target));

  /** An engine with a snapshot and a one-line journal whose service stops each checkpoint's temp write at `gate` once `armed`. */
  async function gatedEngine(): Promise<{ engine: StoreEngine<Rec>; service: EncryptionService; arm: () => { writing: Promise<void>; release: () => void } }> {
    let armed: { writing: Deferred; gate: Deferred } | undefined;
    const service = await createService(dir, {
      fileSystem: {
        open: async (target, flags, mode) => {
          const handle = await nodeFileSystem.open(target, flags, mode);
          const held = armed;
          if (held !== undefined && flags === 'wx' && isSnapshotTemp(target)) {
            armed = undefined;
            held.writing.resolve();
            await held.gate.promise;
          }
          return handle;
        },
      },
    });
    const engine = await engineWithJournal(service);
    return {
      engine,
      service,
      arm: () => {
        const held = { writing: deferred(), gate: deferred() };
        armed = held;
        return { writing: held.writing.promise, release: () => held.gate.resolve() };
      },
    };
  }

  test.each<[string, () => void]>([
    // A copy of the same bytes under another inode: the offsets read may not hold in it.
    ['replaced by a copy of itself (same header, another file)', () => {
      fs.copyFileSync(journal(), `${journal()}.copy`);
      fs.renameSync(`${journal()}.copy`, journal());
    }],
    // The same inode holding another journal (as when an inode is reused): a header of another salt, on the same snapshot.
    ['rewritten in place with another header', () => {
      fs.writeFileSync(journal(), formatHeader({ saltHex: 'ab'.repeat(16), base: snapshotIdOnDisk() }));
    }],
    // Another instance folded it into its snapshot (close) and removed it.
    ['removed', () => fs.rmSync(journal())],
  ])('a journal %s while the temp snapshot was written: the checkpoint gives up, removes its temp and resolves false', async (_, replace) => {
    const { engine, arm } = await gatedEngine();
    const { writing, release } = arm();
    const snapshotBefore = fs.readFileSync(file());
    const running = checkpoint(engine, 'sessions');
    await writing;
    replace();
    const journalNow = (): Buffer | undefined => (fs.existsSync(journal()) ? fs.readFileSync(journal()) : undefined);
    const replacedJournal = journalNow();
    release();
    expect(await running).toBe(false);
    expect(fs.readFileSync(file()).equals(snapshotBefore)).toBe(true);
    expect(journalNow()).toEqual(replacedJournal);
    expect(tempsLeft()).toEqual([]);
  });

  test('lines saved while the temp snapshot was written are carried into the new journal verbatim, even when the file is read in short pieces', async () => {
    const { engine, arm } = await gatedEngine();
    const { writing, release } = arm();
    const running = checkpoint(engine, 'sessions');
    await writing;
    change(engine, 'during', 'd'.repeat(5_000));
    await save(engine);
    const savedLine = journalLines().at(-2);
    // Reads of a regular file may return fewer bytes than asked: at most 1,000 here.
    const realReadSync = fs.readSync;
    const shortReads = jest
      .spyOn(fs, 'readSync')
      .mockImplementation(
        ((fd: number, buffer: NodeJS.ArrayBufferView, offset: number, length: number, position: fs.ReadPosition | null) =>
          realReadSync(fd, buffer, offset, Math.min(length, 1_000), position)) as typeof fs.readSync,
      );
    try {
      release();
      expect(await running).toBe(true);
    } finally {
      shortReads.mockRestore();
    }
    expect(journalLines()).toEqual([expect.stringMatching(new RegExp(` ${snapshotIdOnDisk()}$`)), savedLine, '']);
    expect(await reloaded()).toEqual({ base: 70_000, 'in-journal': 1, during: 5_000 });
  });

  test('FR-2.1: the checkpoint of another store file runs while this one writes its temp snapshot', async () => {
    const { engine, service, arm } = await gatedEngine();
    const other = new StoreEngine(service, path.join(dir, 'other.enc'), SPEC, new Map(), recordingStoreLogger());
    change(other, 'base', 'b'.repeat(70_000));
    await save(other);
    change(other, 'in-journal', 'j');
    await save(other);
    const { writing, release } = arm();
    const running = checkpoint(engine, 'sessions');
    await writing;
    // Were the two checkpoints' temp writes queued together, this would wait for the gate and time out.
    expect(await checkpoint(other, 'sessions')).toBe(true);
    release();
    expect(await running).toBe(true);
  }, 10_000);

  test('a lock taken over while the marker is appended: ERR_LOCK_COMPROMISED, the snapshot is not replaced, a restart finds every record', async () => {
    let takeOver = false;
    const service = await createService(dir, {
      fileSystem: {
        open: async (target, flags, mode) => {
          const handle = await nodeFileSystem.open(target, flags, mode);
          // Another process judges this holder stale and takes the lock over during the append.
          if (takeOver && target === journal() && flags === 'a') fs.writeFileSync(`${file()}.lock`, '{"pid": 1, "hostname": "elsewhere"}\n');
          return handle;
        },
      },
    });
    const engine = await engineWithJournal(service);
    const snapshotBefore = fs.readFileSync(file());
    takeOver = true;
    await expect(checkpoint(engine, 'sessions')).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED' });
    expect(fs.readFileSync(file()).equals(snapshotBefore)).toBe(true);
    fs.rmSync(`${file()}.lock`);
    for (const name of tempsLeft()) fs.rmSync(path.join(dir, name));
    expect(await reloaded()).toEqual({ base: 70_000, 'in-journal': 1 });
  });
});
