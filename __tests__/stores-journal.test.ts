/**
 * The journal beside a store file (issue 15), on real files: a large store
 * appends one line per save, a torn tail is ignored and cut by the next
 * writer, a corrupt middle line costs only itself, a snapshot rewritten by
 * someone else makes the journal stale, checkpoints fold the journal in,
 * and close() leaves the snapshot alone holding everything (downgrade).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentSessionStore, type UserSession } from '../lib/stores/session-store.js';
import { internalsOf } from '../lib/encryption/service-internals.js';
import { nodeFileSystem, type FileHandle } from '../lib/files/fs-seam.js';
import { createService, fsError, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, settleBackgroundSaves } from './helpers/store-harness.js';

let dir: string;
let service: EncryptionService;
const file = (): string => path.join(dir, 'oauth_sessions.enc');
const journal = (): string => `${file()}.journal`;
const BIG = { maxSessions: 1_000_000 };

beforeEach(async () => {
  dir = makeTempDir();
  service = await createService(dir);
});
afterEach(async () => {
  await service.waitForPendingWrites();
  removeTempDir(dir);
});

/** A store past the journal threshold (a ~120 KB snapshot), and its ids. */
async function bigStore(logger = recordingStoreLogger()): Promise<{ store: PersistentSessionStore; ids: string[] }> {
  const store = new PersistentSessionStore(service, file(), { ...BIG, logger });
  const ids = Array.from({ length: 400 }, (_, index) => store.createSession(`user-${index}`).sessionId);
  await store.flush();
  return { store, ids };
}

/** Which of `candidates` a fresh store instance (a restart) holds after loadFromStorage(). */
async function loadedIds(candidates: readonly string[], logger = recordingStoreLogger()): Promise<string[]> {
  const fresh = new PersistentSessionStore(await createService(dir), file(), { ...BIG, logger });
  await fresh.loadFromStorage();
  return candidates.filter((id) => fresh.getSession(id) !== null).sort();
}
const sorted = (ids: readonly string[]): string[] => [...ids].sort();

const snapshotIds = async (): Promise<string[]> =>
  (((await readStoreFile(service, file()))?.sessions ?? []) as UserSession[]).map((session) => session.sessionId).sort();

describe('appends (FR-1.1, NFR-6)', () => {
  test('a save of a large store appends one line and leaves the snapshot alone; a fresh load replays it', async () => {
    const { store, ids } = await bigStore();
    const before = fs.readFileSync(file());
    const added = store.createSession('one-more').sessionId;
    await store.flush();
    expect(fs.readFileSync(file()).equals(before)).toBe(true);
    const lines = fs.readFileSync(journal(), 'latin1').split('\n');
    expect(lines[0]).toMatch(/^ssm-journal 1 [0-9a-f]{32} [0-9a-f]{32}$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(await loadedIds([...ids, added])).toEqual(sorted([...ids, added]));
  });

  test('a torn tail (no newline, or a last line that fails authentication) is ignored, never data, and the next writer cuts it', async () => {
    const { store, ids } = await bigStore();
    const added = store.createSession('one-more').sessionId;
    await store.flush();
    for (const tail of ['AAAA.BBBB', 'AAAA.BBBB.CCCC\n']) {
      fs.appendFileSync(journal(), tail);
      const logger = recordingStoreLogger();
      expect(await loadedIds([...ids, added], logger)).toEqual(sorted([...ids, added]));
      expect(logger.entries).toEqual([]);
    }
    const last = store.createSession('after-the-tear').sessionId;
    await store.flush();
    const lines = fs.readFileSync(journal(), 'latin1').split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.some((line) => line.startsWith('AAAA'))).toBe(false);
    expect(await loadedIds([...ids, added, last])).toEqual(sorted([...ids, added, last]));
  });

  test('a corrupt line in the middle costs only itself: good entries kept, a byte-exact copy aside, a warning with counts', async () => {
    const { store, ids } = await bigStore();
    const first = store.createSession('first').sessionId;
    await store.flush();
    const second = store.createSession('second').sessionId;
    await store.flush();
    const lines = fs.readFileSync(journal(), 'latin1').split('\n');
    lines[1] = `x${lines[1]!.slice(1)}`;
    const damaged = Buffer.from(lines.join('\n'), 'latin1');
    fs.writeFileSync(journal(), damaged);
    const logger = recordingStoreLogger();
    expect(await loadedIds([...ids, first, second], logger)).toEqual(sorted([...ids, second]));
    expect(logger.entries).toEqual([
      { level: 'warn', fields: expect.objectContaining({ droppedLines: 1, droppedRecords: 0 }), message: expect.any(String) },
    ]);
    const copy = fs.readdirSync(dir).find((name) => name.startsWith('oauth_sessions.enc.journal.corrupt-'));
    expect(fs.readFileSync(path.join(dir, copy!)).equals(damaged)).toBe(true);
  });

  test('FR-1: authentic lines that are not entries (not JSON, not an object, a bad change or checkpoint) are dropped and counted, by a writer catching up and by a load', async () => {
    const logger = recordingStoreLogger();
    const { store, ids } = await bigStore(logger);
    const [first, second] = [store.createSession('first').sessionId, store.createSession('second').sessionId];
    await store.flush();
    const codec = internalsOf(service).activeCodec();
    const bad = ['{"put": [', 'null', '[1, 2]', '{"put": {}, "del": []}', '{"put": []}', '{"put": [], "del": [7]}', '{"checkpoint": {"snapshot": 1, "covers": 0}}', '{"checkpoint": {"snapshot": "x", "covers": 1.5}}'];
    /** The bad lines, then a good one deleting `id` (and putting a bad record): bad lines with a good one after them are corruption, not a torn tail. */
    const appendBadLinesThenDelete = (id: string): void =>
      fs.appendFileSync(journal(), [...bad, JSON.stringify({ put: [{ not: 'a session' }], del: [id] })].map((plaintext) => `${codec.sealLine(plaintext)}\n`).join(''), 'latin1');
    // The last line is good: its deletion applies, its one bad record is dropped and counted.
    const dropped = { level: 'warn', fields: expect.objectContaining({ droppedLines: bad.length, droppedRecords: 1 }), message: expect.any(String) };
    // The writer reads the new lines as a tail under its lock, before its own save.
    appendBadLinesThenDelete(first);
    const added = store.createSession('added').sessionId;
    await store.flush();
    expect(logger.entries).toEqual([dropped]);
    expect(await loadedIds([...ids, first, second, added])).toEqual(sorted([...ids, second, added]));
    // A load reads them with the whole journal.
    await store.flush();
    const more = store.createSession('more').sessionId;
    await store.flush();
    appendBadLinesThenDelete(second);
    const restart = recordingStoreLogger();
    expect(await loadedIds([...ids, second, added, more], restart)).toEqual(sorted([...ids, added, more]));
    expect(restart.entries).toEqual([dropped]);
  });

  test('NFR-8: a failed append rejects the flush with its code and keeps the change unsaved; the next flush writes it', async () => {
    let appendFails = false;
    service = await createService(dir, {
      fileSystem: {
        write: async (handle, data) => {
          if (appendFails) throw fsError('ENOSPC', 'write');
          await nodeFileSystem.write(handle, data);
        },
      },
    });
    const { store, ids } = await bigStore();
    const first = store.createSession('first').sessionId;
    await store.flush();
    const journalBefore = fs.readFileSync(journal());
    appendFails = true;
    const lost = store.createSession('not-yet').sessionId;
    await expect(store.flush()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(store.hasUnsavedChanges()).toBe(true);
    expect(fs.readFileSync(journal()).equals(journalBefore)).toBe(true);
    appendFails = false;
    await store.flush();
    expect(store.hasUnsavedChanges()).toBe(false);
    expect(await loadedIds([...ids, first, lost])).toEqual(sorted([...ids, first, lost]));
  });

  test('a journal whose snapshot was rewritten by someone else (the original server) is stale: moved aside and ignored', async () => {
    const { store, ids } = await bigStore();
    const added = store.createSession('in-the-journal').sessionId;
    await store.flush();
    await service.encryptToFile(JSON.stringify({ version: 1, sessions: [] }), file());
    const logger = recordingStoreLogger();
    expect(await loadedIds([...ids, added], logger)).toEqual([]);
    expect(logger.entries).toEqual([{ level: 'warn', fields: expect.objectContaining({ problem: 'stale journal' }), message: expect.any(String) }]);
    expect(fs.existsSync(journal())).toBe(false);
  });
});

describe('checkpoints and close (FR-3.1, FR-4.1)', () => {
  test('close() folds the journal into the snapshot and removes it: the original format alone holds every record (downgrade)', async () => {
    const { store, ids } = await bigStore();
    const added = store.createSession('one-more').sessionId;
    await store.flush();
    expect(fs.existsSync(journal())).toBe(true);
    await store.close();
    expect(fs.existsSync(journal())).toBe(false);
    expect(await snapshotIds()).toEqual([...ids, added].sort());
  });

  test('FR-4: close() of a store without a journal and with nothing new leaves its file untouched', async () => {
    const store = new PersistentSessionStore(service, file(), { logger: recordingStoreLogger() });
    store.createSession('user');
    await store.flush();
    const before = fs.statSync(file());
    const bytes = fs.readFileSync(file());
    await store.close();
    expect(fs.readFileSync(file()).equals(bytes)).toBe(true);
    expect(fs.statSync(file()).ino).toBe(before.ino);
  });

  test('FR-4: close() of a store that never saved leaves an empty store file, as a flush does', async () => {
    const store = new PersistentSessionStore(service, file(), { logger: recordingStoreLogger() });
    await store.close();
    expect(await readStoreFile(service, file())).toEqual({ version: 1, sessions: [] });
  });

  test('a journal that outgrows its snapshot is checkpointed: a new snapshot, a short journal, nothing lost', async () => {
    const { store, ids } = await bigStore();
    const all = [...ids];
    for (let round = 0; round < 16; round += 1) {
      for (let index = 0; index < 100; index += 1) all.push(store.createSession(`r${round}-${index}`).sessionId);
      await store.flush();
    }
    await service.waitForPendingWrites();
    expect((await snapshotIds()).length).toBeGreaterThan(ids.length);
    expect(fs.statSync(journal()).size).toBeLessThan(fs.statSync(file()).size);
    expect(await loadedIds(all)).toEqual(sorted(all));
  });

  test('NFR-8, NFR-4: a failed checkpoint is logged with its code (no record), loses nothing, and a later save retries it', async () => {
    // chmod is called only when a whole file is written (a snapshot, a new journal, a checkpoint's temp), never by an append.
    let chmodFails = false;
    const openHandles = new Set<FileHandle>();
    service = await createService(dir, {
      fileSystem: {
        open: async (target, flags, mode) => {
          const handle = await nodeFileSystem.open(target, flags, mode);
          openHandles.add(handle);
          return handle;
        },
        close: async (handle) => {
          openHandles.delete(handle);
          await nodeFileSystem.close(handle);
        },
        chmod: async (handle, mode) => {
          if (chmodFails) throw fsError('EIO', 'chmod');
          await nodeFileSystem.chmod(handle, mode);
        },
      },
    });
    const logger = recordingStoreLogger();
    const { store, ids } = await bigStore(logger);
    const all = [...ids];
    const round = async (name: string): Promise<void> => {
      for (let index = 0; index < 100; index += 1) all.push(store.createSession(`${name}-${index}`).sessionId);
      await store.flush();
      await settleBackgroundSaves(service);
    };
    // The first save past the threshold creates the journal (a whole file); the later ones append.
    await round('first');
    expect(fs.existsSync(journal())).toBe(true);
    chmodFails = true;
    for (let index = 0; logger.entries.length === 0 && index < 32; index += 1) await round(`r${index}`);
    expect(logger.entries).toEqual([
      {
        level: 'error',
        fields: expect.objectContaining({ store: 'sessions', filePath: file(), code: 'EIO' }),
        message: 'checkpoint of the store journal failed; the journal keeps every change and the next save retries',
      },
    ]);
    expect(logger.text()).not.toContain(all[0]);
    // The temp snapshot the checkpoint had opened is closed and removed.
    expect(openHandles.size).toBe(0);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const journalAfterFailure = fs.statSync(journal()).size;
    expect(journalAfterFailure).toBeGreaterThan(fs.statSync(file()).size);
    expect(await loadedIds(all)).toEqual(sorted(all));
    chmodFails = false;
    await round('healed');
    expect(logger.entries).toHaveLength(1);
    expect(fs.statSync(journal()).size).toBeLessThan(fs.statSync(file()).size);
    expect(await loadedIds(all)).toEqual(sorted(all));
  });
});
