/**
 * The store engine's write side (issues 15 and 16), on real files, driven
 * directly: when a save rewrites the snapshot and when it appends, what the
 * engine knows after its own writes, unsaved changes while a write runs,
 * and writers that lost their cross-process lock. Checkpoints:
 * stores-engine-write-checkpoint; the file writes at the seam:
 * stores-engine-write-files.
 */
import fs from 'node:fs';
import { nodeFileSystem } from '../lib/files/fs-seam.js';
import { checkpoint } from '../lib/stores/checkpoint.js';
import { JOURNAL_FROM_BYTES } from '../lib/stores/store-engine.js';
import type { Deferred } from './helpers/common.js';
import { catchUpKind, change, engineFiles, save } from './helpers/engine-harness.js';
import { createService, deferred, fsError, makeTempDir, recordingStoreLogger, removeTempDir } from './helpers/store-harness.js';

let dir: string;
const { file, journal, engineOn, serviceLosingJournal, reloaded, journalLines, snapshotIdOnDisk } = engineFiles(() => dir);

beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

describe('when a save rewrites the snapshot and when it appends (FR-1.1, invariant 5)', () => {
  test('a store without a journal is rewritten whole while its snapshot is under 64 KiB; the first save after that starts the journal', async () => {
    const engine = engineOn(await createService(dir));
    change(engine, 'base', 'b'.repeat(32_000));
    await save(engine);
    expect(engine.sync.snapshotSize).toBeLessThan(JOURNAL_FROM_BYTES);
    change(engine, 'more', 'm');
    await save(engine);
    expect(fs.existsSync(journal())).toBe(false);
    change(engine, 'grow', 'g'.repeat(1_000));
    const before = snapshotIdOnDisk();
    await save(engine);
    expect(snapshotIdOnDisk()).not.toBe(before);
    expect(engine.sync.snapshotSize).toBeGreaterThan(JOURNAL_FROM_BYTES);
    expect(fs.existsSync(journal())).toBe(false);
    const snapshot = snapshotIdOnDisk();
    change(engine, 'appended', 'a');
    await save(engine);
    expect(snapshotIdOnDisk()).toBe(snapshot);
    expect(journalLines()).toEqual([expect.stringMatching(new RegExp(` ${snapshot}$`)), expect.any(String), '']);
    expect(await reloaded()).toEqual({ base: 32_000, more: 1, grow: 1_000, appended: 1 });
  });

  test('once a journal is live, saves append to it even after a checkpoint shrank the snapshot under 64 KiB', async () => {
    const engine = engineOn(await createService(dir));
    change(engine, 'base', 'b'.repeat(70_000));
    await save(engine);
    change(engine, 'base', 'b');
    await save(engine);
    expect(fs.existsSync(journal())).toBe(true);
    expect(await checkpoint(engine, 'sessions')).toBe(true);
    expect(engine.sync.snapshotSize).toBeLessThan(JOURNAL_FROM_BYTES);
    const snapshot = snapshotIdOnDisk();
    const lines = journalLines().length;
    change(engine, 'after', 'a');
    await save(engine);
    // The rewrite-whole rule is for a store without a journal: this one stays on its journal.
    expect(snapshotIdOnDisk()).toBe(snapshot);
    expect(journalLines()).toHaveLength(lines + 1);
    expect(await reloaded()).toEqual({ base: 1, after: 1 });
  });

  test('after creating the journal and after each append the engine is current, and another writer\'s next line is read as a tail', async () => {
    const engine = engineOn(await createService(dir));
    const other = engineOn(await createService(dir));
    change(engine, 'base', 'b'.repeat(70_000));
    await save(engine);
    for (const [round, id] of ['created', 'appended'].entries()) {
      change(engine, id, 'x');
      await save(engine);
      expect(engine.sync.journal!.offset).toBe(fs.statSync(journal()).size);
      expect(engine.sync.isCurrent()).toBe(true);
      await save(other);
      change(other, `theirs-${round}`, 't');
      await save(other);
      expect(await catchUpKind(engine)).toBe('tail');
      expect(engine.sync.records.get(`theirs-${round}`)).toEqual({ id: `theirs-${round}`, pad: 't' });
    }
  });
});

describe('unsaved changes while a save is written (FR-4.2)', () => {
  test('a change counts as unsaved while its write runs and again after it failed; a tidy-up riding along never does', async () => {
    let hold: { entered: Deferred; release: Deferred; failWith?: string } | undefined;
    const service = await createService(dir, {
      fileSystem: {
        write: async (handle, data) => {
          const held = hold;
          hold = undefined;
          if (held !== undefined) {
            held.entered.resolve();
            await held.release.promise;
            if (held.failWith !== undefined) throw fsError(held.failWith);
          }
          await nodeFileSystem.write(handle, data);
        },
      },
    });
    const engine = engineOn(service);
    change(engine, 'kept', 'k');
    change(engine, 'tidied', 't');
    await save(engine);
    // A tidy-up alone (a record dropped on load) is written without the store ever being unsaved.
    engine.sync.records.delete('tidied');
    engine.sync.pending.set('tidied', false);
    expect(engine.hasUnsavedChanges).toBe(false);
    const tidy = { entered: deferred(), release: deferred() };
    hold = tidy;
    const tidying = save(engine);
    await tidy.entered.promise;
    expect(engine.hasUnsavedChanges).toBe(false);
    tidy.release.resolve();
    await tidying;
    expect(await reloaded()).toEqual({ kept: 1 });

    change(engine, 'real', 'r');
    engine.sync.records.delete('kept');
    engine.sync.pending.set('kept', false);
    const failing = { entered: deferred(), release: deferred(), failWith: 'ENOSPC' };
    hold = failing;
    const failed = save(engine);
    await failing.entered.promise;
    expect(engine.sync.pending.size).toBe(0);
    expect(engine.hasUnsavedChanges).toBe(true);
    failing.release.resolve();
    await expect(failed).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(engine.hasUnsavedChanges).toBe(true);
    expect([...engine.sync.pending]).toEqual([['real', true], ['kept', false]]);
    await save(engine);
    expect(engine.hasUnsavedChanges).toBe(false);
    expect(await reloaded()).toEqual({ real: 1 });
  });
});

describe('what a fold and a new journal leave the engine knowing (FR-1.1, NFR-8)', () => {
  test('a fold of a store with a journal (close) leaves one snapshot holding everything; the engine knows it has no journal and is current', async () => {
    const engine = engineOn(await createService(dir));
    change(engine, 'base', 'b'.repeat(70_000));
    await save(engine);
    expect(engine.sync.isCurrent()).toBe(true);
    change(engine, 'in-journal', 'j');
    await save(engine);
    await engine.locked(() => engine.fold());
    expect(fs.existsSync(journal())).toBe(false);
    expect(engine.sync.journal).toBeUndefined();
    expect(engine.sync.snapshotId).toBe(snapshotIdOnDisk());
    expect(engine.sync.isCurrent()).toBe(true);
    // The next save starts a new journal on the folded snapshot.
    change(engine, 'after', 'a');
    await save(engine);
    expect(journalLines()[0]).toMatch(new RegExp(` ${snapshotIdOnDisk()}$`));
    expect(await reloaded()).toEqual({ base: 70_000, 'in-journal': 1, after: 1 });
  });

  test('NFR-4: a journal made stale by a rewrite of the snapshot (the original server) is moved aside with a warning naming the store, not a record', async () => {
    const service = await createService(dir);
    const logger = recordingStoreLogger();
    const engine = engineOn(service, logger);
    change(engine, 'base', 'b'.repeat(70_000));
    await save(engine);
    change(engine, 'in-journal', 'secret-pad');
    await save(engine);
    await service.encryptToFile(JSON.stringify({ version: 1, sessions: [{ id: 'rewritten', pad: 'r' }] }), file());
    change(engine, 'after', 'a');
    await save(engine);
    expect(logger.entries).toEqual([
      { level: 'warn', fields: expect.objectContaining({ store: 'recs', problem: 'stale journal', filePath: journal() }), message: expect.any(String) },
    ]);
    expect(logger.text()).not.toContain('secret-pad');
    expect(fs.readdirSync(dir).filter((name) => name.startsWith('recs.enc.journal.corrupt-'))).toHaveLength(1);
    expect(await reloaded()).toEqual({ rewritten: 1, after: 1 });
  });

  test('a journal gone right after this instance created it fails the save, which keeps its change unsaved; the next save writes it', async () => {
    const { service, lose } = await serviceLosingJournal();
    const engine = engineOn(service);
    change(engine, 'base', 'b'.repeat(70_000));
    await save(engine);
    change(engine, 'lost', 'l');
    lose.journal = true;
    await expect(save(engine)).rejects.toThrow('the journal vanished under the lock');
    expect(engine.hasUnsavedChanges).toBe(true);
    expect(engine.sync.journal).toBeUndefined();
    lose.journal = false;
    await save(engine);
    expect(engine.hasUnsavedChanges).toBe(false);
    expect(await reloaded()).toEqual({ base: 70_000, lost: 1 });
  });
});

describe('a writer whose cross-process lock was taken over writes nothing (FR-1.1, NFR-8)', () => {
  /** Another process judges this holder stale and takes the lock over (what the lock file then says). */
  const takeOver = (): void => fs.writeFileSync(`${file()}.lock`, '{"pid": 1, "hostname": "elsewhere"}\n');

  test.each<[string, number, boolean]>([
    ['rewriting a small store whole', 100, false],
    ['creating the journal', 70_000, false],
    ['appending to the journal', 70_000, true],
  ])('%s: ERR_LOCK_COMPROMISED, the files untouched, the change still unsaved', async (_, basePad, hasJournal) => {
    const engine = engineOn(await createService(dir));
    change(engine, 'base', 'b'.repeat(basePad));
    await save(engine);
    if (hasJournal) {
      change(engine, 'in-journal', 'j');
      await save(engine);
    }
    const bytes = (): (Buffer | undefined)[] => [file(), journal()].map((name) => (fs.existsSync(name) ? fs.readFileSync(name) : undefined));
    const before = bytes();
    await expect(
      engine.locked(() => {
        change(engine, 'lost', 'l');
        takeOver();
      }),
    ).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED' });
    expect(bytes()).toEqual(before);
    expect(engine.hasUnsavedChanges).toBe(true);
    fs.rmSync(`${file()}.lock`);
    expect(await reloaded()).toEqual(hasJournal ? { base: basePad, 'in-journal': 1 } : { base: basePad });
  });
});

describe('lock-free lookups (FR-3.3)', () => {
  test('an unreadable snapshot is left to the next locked operation: both lookups keep what they hold, the save moves it aside', async () => {
    const logger = recordingStoreLogger();
    const engine = engineOn(await createService(dir), logger);
    change(engine, 'kept', 'k');
    await save(engine);
    fs.writeFileSync(file(), 'not a payload');
    engine.refreshSync();
    await engine.refresh();
    expect([...engine.sync.records.keys()]).toEqual(['kept']);
    expect(logger.entries).toEqual([]);
    await save(engine);
    expect(logger.entries).toEqual([{ level: 'warn', fields: expect.objectContaining({ store: 'recs' }), message: expect.stringContaining('moved aside') }]);
    expect(engine.sync.records.size).toBe(0);
  });
});
