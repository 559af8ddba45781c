/**
 * Checkpoints cut short (issue 15 item 2), on real files: the steps of a
 * checkpoint and of close()'s fold are interrupted through the file-system
 * seam, and a restart must find every record. A checkpoint marker names the
 * new snapshot and the journal offset it covers; these tests are the only
 * in-process ones that read a journal holding such a marker (the crash suite
 * kills real processes and reads the built package).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { internalsOf } from '../lib/encryption/service-internals.js';
import { nodeFileSystem, type FileHandle } from '../lib/files/fs-seam.js';
import { CHECKPOINT_MIN_BYTES } from '../lib/stores/checkpoint.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import type { Deferred } from './helpers/common.js';
import { createService, deferred, fsError, makeTempDir, recordingStoreLogger, removeTempDir, settleBackgroundSaves } from './helpers/store-harness.js';

let dir: string;
const file = (): string => path.join(dir, 'oauth_sessions.enc');
const journal = (): string => `${file()}.journal`;
const BIG = { maxSessions: 1_000_000 };
const sorted = (ids: readonly string[]): string[] => [...ids].sort();

/**
 * chmod is called only when a whole file is written (a snapshot, a new journal, a checkpoint's
 * temp), never by a journal append: each armed step runs at the next such call, in order.
 */
type Step = (handle: FileHandle, mode: number) => Promise<void>;

async function steppedService(steps: Step[]): Promise<EncryptionService> {
  return createService(dir, {
    fileSystem: {
      chmod: async (handle, mode) => {
        const step = steps.shift();
        if (step !== undefined) await step(handle, mode);
        await nodeFileSystem.chmod(handle, mode);
      },
    },
  });
}

/** Which of `candidates` a fresh instance on its own service (a restart) holds after loadFromStorage(). */
async function loadedIds(candidates: readonly string[], logger = recordingStoreLogger()): Promise<string[]> {
  const fresh = new PersistentSessionStore(await createService(dir), file(), { ...BIG, logger });
  await fresh.loadFromStorage();
  return candidates.filter((id) => fresh.getSession(id) !== null).sort();
}

const journalLines = (): string[] => fs.readFileSync(journal(), 'latin1').split('\n');
const snapshotIdOnDisk = (): string => /^([0-9a-f]{32}):([0-9a-f]{32}):/.exec(fs.readFileSync(file(), 'latin1'))![2]!;
const tempsLeft = (): string[] => fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'));

/**
 * Saves 100 sessions at a time (their ids pushed to `ids`) until the journal
 * outgrows its snapshot: the checkpoint then starts in the background.
 * `onJournal` runs once the journal exists, so steps armed there meet only
 * the checkpoint's whole-file writes.
 */
async function growUntilCheckpoint(store: PersistentSessionStore, ids: string[], onJournal: () => void): Promise<void> {
  const needsCheckpoint = (): boolean =>
    fs.existsSync(journal()) && fs.statSync(journal()).size > Math.max(fs.statSync(file()).size, CHECKPOINT_MIN_BYTES);
  for (let round = 0; !needsCheckpoint(); round += 1) {
    if (round === 40) throw new Error('the journal never outgrew its snapshot');
    for (let index = 0; index < 100; index += 1) ids.push(store.createSession(`r${round}-${index}`).sessionId);
    // The journal's first save writes it whole (one chmod): from then on only appends.
    if (fs.existsSync(journal())) onJournal();
    await store.flush();
  }
}

let service: EncryptionService | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(() => {
  dir = makeTempDir();
  service = undefined;
});
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  if (service !== undefined) await settleBackgroundSaves(service);
  removeTempDir(dir);
});

/** A step that holds the whole-file write it meets until `release()`; `reached` resolves once it is held. */
function holdingStep(): { step: Step; reached: Promise<void>; release: () => void } {
  const reached: Deferred = deferred();
  const gate: Deferred = deferred();
  const step: Step = async () => {
    reached.resolve();
    await gate.promise;
  };
  return { step, reached: reached.promise, release: () => gate.resolve() };
}

/**
 * A session store (400 sessions saved, then grown until its checkpoint starts) whose checkpoint
 * is held while it writes its temp snapshot; `after` are the steps for the whole-file writes that
 * follow. Resolves once the checkpoint is held there.
 */
async function storeHeldInCheckpoint(...after: Step[]): Promise<HeldCheckpoint> {
  const steps: Step[] = [];
  const stepped = await steppedService(steps);
  service = stepped;
  const logger = recordingStoreLogger();
  const store = new PersistentSessionStore(stepped, file(), { ...BIG, logger });
  const ids = Array.from({ length: 400 }, (_, index) => store.createSession(`user-${index}`).sessionId);
  await store.flush();
  const held = holdingStep();
  let armed = false;
  await growUntilCheckpoint(store, ids, () => {
    if (armed) return;
    armed = true;
    steps.push(held.step, ...after);
  });
  await held.reached;
  return { store, ids, logger, release: held.release, stepped };
}

interface HeldCheckpoint {
  store: PersistentSessionStore;
  ids: string[];
  logger: ReturnType<typeof recordingStoreLogger>;
  release: () => void;
  /** The store's service (the one whose writes are stepped). */
  stepped: EncryptionService;
}

describe('a checkpoint cut short loses nothing (FR-1.1, NFR-8)', () => {
  test('saves that land while the temp snapshot is written are carried, verbatim, into the new journal based on the new snapshot', async () => {
    const { store, ids, logger, release, stepped } = await storeHeldInCheckpoint();
    const duringLines: string[] = [];
    const during: string[] = [];
    for (let save = 0; save < 3; save += 1) {
      during.push(store.createSession(`during-${save}`).sessionId);
      await store.flush();
      duringLines.push(journalLines().at(-2)!);
    }
    release();
    await settleBackgroundSaves(stepped);
    expect(logger.entries).toEqual([]);
    // The new journal: a header naming the new snapshot, then the three saves' lines as they were.
    expect(journalLines()).toEqual([expect.stringMatching(new RegExp(` ${snapshotIdOnDisk()}$`)), ...duringLines, '']);
    const all = [...ids, ...during];
    expect(await loadedIds(all)).toEqual(sorted(all));
  });

  test('a change still pending when the checkpoint takes the lock again is carried into the new journal, written right after it', async () => {
    const steps: Step[] = [];
    service = await steppedService(steps);
    const logger = recordingStoreLogger();
    // Token changes wait for the debounce (an hour here), so one can be pending when the checkpoint's last step starts.
    const tokensFile = path.join(dir, 'tokens.enc');
    const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600, saveDebounceMs: 3_600_000, maxSaveWaitMs: 3_600_000, logger }, service, tokensFile);
    // Cancels the hour-long debounce even when an expectation fails, so jest can exit.
    cleanups.push(() => tokens.close().catch(() => undefined));
    const issued: string[] = [];
    const needsCheckpoint = (): boolean =>
      fs.existsSync(`${tokensFile}.journal`) && fs.statSync(`${tokensFile}.journal`).size > Math.max(fs.statSync(tokensFile).size, CHECKPOINT_MIN_BYTES);
    const held = holdingStep();
    let armed = false;
    for (let round = 0; !needsCheckpoint(); round += 1) {
      if (round === 60) throw new Error('the journal never outgrew its snapshot');
      for (let index = 0; index < 200; index += 1) issued.push(await tokens.generateToken({ clientId: 'c', userId: `r${round}-${index}`, scope: '' }));
      // Once the journal exists, the next whole-file write is the checkpoint's temp snapshot.
      if (fs.existsSync(`${tokensFile}.journal`) && !armed) {
        armed = true;
        steps.push(held.step);
      }
      await tokens.flush();
    }
    await held.reached;
    const pending = await tokens.generateToken({ clientId: 'c', userId: 'pending', scope: '' });
    expect(tokens.hasUnsavedChanges()).toBe(true);
    held.release();
    await settleBackgroundSaves(service);
    expect(logger.entries).toEqual([]);
    expect(tokens.hasUnsavedChanges()).toBe(false);
    const restarted = new PersistentRefreshTokenStore({ expirySeconds: 3600 }, await createService(dir), tokensFile);
    await restarted.loadFromStorage();
    for (const token of [issued[0]!, issued.at(-1)!, pending]) expect((await restarted.validateToken(token, 'c')).valid).toBe(true);
    expect(restarted.getMetrics().count).toBe(issued.length + 1);
  });

  test('the new journal not written after the snapshot rename: a restart replays the lines saved during the checkpoint onto the new snapshot', async () => {
    // The checkpoint's temp snapshot is held; then the new journal's write fails.
    const { store, ids, logger, release, stepped } = await storeHeldInCheckpoint(async () => {
      throw fsError('EIO', 'chmod');
    });
    const oldSnapshot = snapshotIdOnDisk();
    const during = Array.from({ length: 5 }, (_, index) => store.createSession(`during-${index}`).sessionId);
    await store.flush();
    release();
    await settleBackgroundSaves(stepped);
    expect(logger.entries).toEqual([
      { level: 'error', fields: expect.objectContaining({ code: 'EIO' }), message: expect.stringContaining('checkpoint of the store journal failed') },
    ]);
    // The snapshot was replaced; the journal is still the old one, ending with the marker that names the new snapshot.
    expect(snapshotIdOnDisk()).not.toBe(oldSnapshot);
    expect(journalLines()[0]).toMatch(new RegExp(` ${oldSnapshot}$`));
    const restart = recordingStoreLogger();
    const all = [...ids, ...during];
    expect(await loadedIds(all, restart)).toEqual(sorted(all));
    expect(restart.entries).toEqual([]);
    expect(tempsLeft()).toEqual([]);
    // The interrupted instance reloads the replaced snapshot and keeps appending to the old journal.
    const after = store.createSession('after').sessionId;
    await store.flush();
    expect(await loadedIds([...all, after])).toEqual(sorted([...all, after]));
  });

  test('close() whose journal removal fails: the new snapshot holds everything and the marker makes the old journal live, not stale', async () => {
    // The journal is written by another service (another salt): the closing store writes the marker under the journal's salt.
    const writer = new PersistentSessionStore(await createService(dir), file(), { ...BIG, logger: recordingStoreLogger() });
    const ids = Array.from({ length: 400 }, (_, index) => writer.createSession(`user-${index}`).sessionId);
    await writer.flush();
    for (let round = 0; round < 2; round += 1) {
      ids.push(writer.createSession(`round-${round}`).sessionId);
      await writer.flush();
    }
    let unlinkFails = false;
    service = await createService(dir, {
      fileSystem: {
        unlink: async (target) => {
          if (unlinkFails && target === journal()) throw fsError('EIO', 'unlink');
          await nodeFileSystem.unlink(target);
        },
      },
    });
    const store = new PersistentSessionStore(service, file(), { ...BIG, logger: recordingStoreLogger() });
    await store.loadFromStorage();
    const base = journalLines()[0];
    expect(base!.split(' ')[2]).not.toBe(internalsOf(service).activeCodec().saltHex);
    unlinkFails = true;
    await expect(store.close()).rejects.toMatchObject({ code: 'EIO' });
    expect(journalLines()[0]).toBe(base);
    expect(base).not.toMatch(new RegExp(` ${snapshotIdOnDisk()}$`));
    const restart = recordingStoreLogger();
    expect(await loadedIds(ids, restart)).toEqual(sorted(ids));
    expect(restart.entries).toEqual([]);
    expect(fs.existsSync(journal())).toBe(true);
    // A second close retries and removes the journal.
    unlinkFails = false;
    await store.close();
    expect(fs.existsSync(journal())).toBe(false);
    expect(await loadedIds(ids)).toEqual(sorted(ids));
  });

  test('close() whose cross-process lock was taken over while it wrote the marker publishes nothing: ERR_LOCK_COMPROMISED, snapshot and journal kept', async () => {
    const writer = new PersistentSessionStore(await createService(dir), file(), { ...BIG, logger: recordingStoreLogger() });
    const ids = Array.from({ length: 400 }, (_, index) => writer.createSession(`user-${index}`).sessionId);
    await writer.flush();
    ids.push(writer.createSession('in-the-journal').sessionId);
    await writer.flush();
    let takeOver = false;
    service = await createService(dir, {
      fileSystem: {
        open: async (target, flags, mode) => {
          const handle = await nodeFileSystem.open(target, flags, mode);
          // The marker's append: another process judges this holder stale and takes the lock over.
          if (takeOver && target === journal() && flags === 'a') fs.writeFileSync(`${file()}.lock`, '{"pid": 1, "hostname": "elsewhere"}\n');
          return handle;
        },
      },
    });
    const store = new PersistentSessionStore(service, file(), { ...BIG, logger: recordingStoreLogger() });
    await store.loadFromStorage();
    const snapshotBefore = fs.readFileSync(file());
    takeOver = true;
    await expect(store.close()).rejects.toMatchObject({ code: 'ERR_LOCK_COMPROMISED' });
    expect(fs.readFileSync(file()).equals(snapshotBefore)).toBe(true);
    expect(fs.existsSync(journal())).toBe(true);
    // The new holder finishes and releases; a restart finds every record.
    fs.rmSync(`${file()}.lock`);
    const restart = recordingStoreLogger();
    expect(await loadedIds(ids, restart)).toEqual(sorted(ids));
    expect(restart.entries).toEqual([]);
  });

  test('a journal replaced by another instance while the temp snapshot was written: the checkpoint gives up, removes its temp and logs nothing', async () => {
    const { ids, logger, release, stepped } = await storeHeldInCheckpoint();
    // Another process folds the journal into a snapshot of its own and removes it.
    const other = new PersistentSessionStore(await createService(dir), file(), BIG);
    await other.loadFromStorage();
    const theirs = other.createSession('theirs').sessionId;
    await other.close();
    expect(fs.existsSync(journal())).toBe(false);
    const foldedSnapshot = snapshotIdOnDisk();
    release();
    await settleBackgroundSaves(stepped);
    expect(logger.entries).toEqual([]);
    expect(snapshotIdOnDisk()).toBe(foldedSnapshot);
    expect(tempsLeft()).toEqual([]);
    expect(await loadedIds([...ids, theirs])).toEqual(sorted([...ids, theirs]));
  });
});
