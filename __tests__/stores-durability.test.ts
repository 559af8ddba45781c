/**
 * The journal's writes are durable when the service is (FR-1: persisted
 * reliably, a power loss after an acknowledged save loses nothing), and
 * cost no fsync when it is not. Watched at the file-system seam: every
 * fsync, named by the path its handle was opened with.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { nodeFileSystem, type FileHandle } from '../lib/files/fs-seam.js';
import { CHECKPOINT_MIN_BYTES } from '../lib/stores/checkpoint.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { makeTempDir, recordingStoreLogger, removeTempDir, settleBackgroundSaves, TEST_KEY } from './helpers/store-harness.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

const BIG = { maxSessions: 1_000_000 };

/** A service whose fsyncs are recorded by path: the file's name, 'temp' or 'journal temp' for temp files, 'dir' for the directory. */
async function watchedService(durable: boolean): Promise<{ service: EncryptionService; fsyncs: string[] }> {
  const paths = new Map<FileHandle, string>();
  const fsyncs: string[] = [];
  const name = (opened: string): string => {
    if (opened === dir) return 'dir';
    const base = path.basename(opened);
    if (base.endsWith('.tmp')) return base.startsWith('oauth_sessions.enc.journal.') ? 'journal temp' : 'temp';
    return base;
  };
  const service = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key'), durable }, {
    fileSystem: {
      open: async (opened, flags, mode) => {
        const handle = await nodeFileSystem.open(opened, flags, mode);
        paths.set(handle, name(opened));
        return handle;
      },
      fsync: async (handle) => {
        fsyncs.push(paths.get(handle) ?? 'unknown');
        await nodeFileSystem.fsync(handle);
      },
    },
  });
  await service.initialize();
  return { service, fsyncs };
}

/** Runs `step` and returns the fsyncs it made. */
async function fsyncsOf(fsyncs: string[], step: () => Promise<unknown>): Promise<string[]> {
  fsyncs.length = 0;
  await step();
  return [...fsyncs];
}

describe('journal writes are durable exactly when the service is (FR-1)', () => {
  test('durable: an append fsyncs the journal; a checkpoint its temp, the journal and the directory; close() also the directory after removing the journal', async () => {
    const { service, fsyncs } = await watchedService(true);
    const file = path.join(dir, 'oauth_sessions.enc');
    const store = new PersistentSessionStore(service, file, { ...BIG, logger: recordingStoreLogger() });
    for (let index = 0; index < 400; index += 1) store.createSession(`user-${index}`);
    await store.flush();
    store.createSession('creates-the-journal');
    await store.flush();
    store.createSession('appended');
    expect(await fsyncsOf(fsyncs, () => store.flush())).toEqual(['oauth_sessions.enc.journal']);
    // Saves of 100 sessions until one starts a checkpoint: its fsyncs follow the save's own append.
    let checkpointed: string[] | undefined;
    for (let round = 0; checkpointed === undefined && round < 40; round += 1) {
      for (let index = 0; index < 100; index += 1) store.createSession(`r${round}-${index}`);
      const snapshotSize = fs.statSync(file).size;
      let journalSize = 0;
      const seen = await fsyncsOf(fsyncs, async () => {
        await store.flush();
        // The checkpoint runs in the background: the journal is still the appended one here.
        journalSize = fs.statSync(`${file}.journal`).size;
        await settleBackgroundSaves(service);
      });
      if (seen.length > 1) checkpointed = seen;
      // A checkpoint runs exactly when the journal outgrows both its snapshot and CHECKPOINT_MIN_BYTES.
      expect(seen.length > 1).toBe(journalSize > Math.max(snapshotSize, CHECKPOINT_MIN_BYTES));
    }
    // Append; the temp snapshot; the marker; the rename; the new journal written whole (temp, rename).
    expect(checkpointed).toEqual(['oauth_sessions.enc.journal', 'temp', 'oauth_sessions.enc.journal', 'dir', 'journal temp', 'dir']);
    // Close folds: the marker, the new snapshot (temp, rename), then the journal's removal.
    expect(await fsyncsOf(fsyncs, () => store.close())).toEqual(['oauth_sessions.enc.journal', 'temp', 'dir', 'dir']);
  });

  test('not durable: the same saves, checkpoint and close make no fsync at all', async () => {
    const { service, fsyncs } = await watchedService(false);
    const file = path.join(dir, 'oauth_sessions.enc');
    const store = new PersistentSessionStore(service, file, { ...BIG, logger: recordingStoreLogger() });
    for (let index = 0; index < 400; index += 1) store.createSession(`user-${index}`);
    await store.flush();
    for (let round = 0; round < 24; round += 1) {
      for (let index = 0; index < 100; index += 1) store.createSession(`r${round}-${index}`);
      await store.flush();
    }
    await settleBackgroundSaves(service);
    // A checkpoint ran: the journal is shorter than its snapshot again.
    expect(fs.statSync(`${file}.journal`).size).toBeLessThan(fs.statSync(file).size);
    await store.close();
    expect(fs.existsSync(`${file}.journal`)).toBe(false);
    expect(fsyncs).toEqual([]);
  });
});
