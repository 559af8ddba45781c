/**
 * What a lookup reads to catch up with its file (issue 9 item 3, issue 15):
 * nothing when neither file changed, only the journal's new lines after
 * another instance appended, and a journal it cannot use only once. Counted
 * as the files the store opens (the store reads through 'fs' directly, so a
 * spy on fs.openSync sees every read), never timed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { createService, makeTempDir, recordingStoreLogger, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

let dir: string;
const file = (): string => path.join(dir, 'oauth_sessions.enc');
const journal = (): string => `${file()}.journal`;
const BIG = { maxSessions: 1_000_000 };

beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => {
  jest.restoreAllMocks();
  removeTempDir(dir);
});

/** Which of the store's two files were opened while `lookup` ran. */
function filesOpenedBy(lookup: () => void): string[] {
  const openSync = jest.spyOn(fs, 'openSync');
  try {
    lookup();
    return openSync.mock.calls.map(([opened]) => String(opened)).filter((opened) => opened === file() || opened === journal());
  } finally {
    openSync.mockRestore();
  }
}

/**
 * Writer A with a journal beside a large snapshot, and reader B loaded from
 * them. The snapshot's mtime is set well in the past, so its stamp is
 * trusted without reading its id (see STAMP_DOUBT_MS).
 */
async function writerAndReader(): Promise<{ a: PersistentSessionStore; b: PersistentSessionStore; bLogger: ReturnType<typeof recordingStoreLogger>; ids: string[] }> {
  const a = new PersistentSessionStore(await createService(dir), file(), { ...BIG, logger: recordingStoreLogger() });
  const ids = Array.from({ length: 400 }, (_, index) => a.createSession(`user-${index}`).sessionId);
  await a.flush();
  const past = Date.now() / 1000 - 60;
  fs.utimesSync(file(), past, past);
  // A's next save reloads the snapshot (its stamp changed), then writes the journal itself.
  ids.push(a.createSession('in-the-journal').sessionId);
  await a.flush();
  expect(fs.existsSync(journal())).toBe(true);
  const bLogger = recordingStoreLogger();
  const b = new PersistentSessionStore(await createService(dir), file(), { ...BIG, logger: bLogger });
  await b.loadFromStorage();
  return { a, b, bLogger, ids };
}

describe('a lookup reads only what changed (FR-3.3)', () => {
  test('nothing changed: no file is opened; another instance appended: only the journal is read, and the new session is seen', async () => {
    const { a, b, ids } = await writerAndReader();
    expect(filesOpenedBy(() => expect(b.getSession(ids[0]!)).not.toBeNull())).toEqual([]);
    const added = a.createSession('added').sessionId;
    await a.flush();
    expect(filesOpenedBy(() => expect(b.getSession(added)).not.toBeNull())).toEqual([journal()]);
    expect(filesOpenedBy(() => expect(b.getSession(added)).not.toBeNull())).toEqual([]);
    // A deletion appended by A reaches B the same way.
    a.deleteSession(added);
    await a.flush();
    expect(filesOpenedBy(() => expect(b.getSession(added)).toBeNull())).toEqual([journal()]);
    // A knows its own appends; B's append reaches A through the journal A created.
    expect(filesOpenedBy(() => expect(a.getSession(added)).toBeNull())).toEqual([]);
    const fromB = b.createSession('from-b').sessionId;
    await b.flush();
    expect(filesOpenedBy(() => expect(a.getSession(fromB)).not.toBeNull())).toEqual([journal()]);
  });

  test('a save reads nothing of the files when neither changed since this instance read them (it only appends)', async () => {
    const { b } = await writerAndReader();
    b.createSession('appended');
    const openSync = jest.spyOn(fs, 'openSync');
    await b.flush();
    expect(openSync.mock.calls.map(([opened]) => String(opened)).filter((opened) => opened === file() || opened === journal())).toEqual([]);
  });

  test('a store whose service is not initialised yet serves what it holds and reads no file', async () => {
    const { ids } = await writerAndReader();
    const early = new PersistentSessionStore(new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key') }), file(), BIG);
    expect(filesOpenedBy(() => expect(early.getSession(ids[0]!)).toBeNull())).toEqual([]);
    const tokensFile = path.join(dir, 'tokens.enc');
    const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600 }, new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key') }), tokensFile);
    const openSync = jest.spyOn(fs, 'openSync');
    await expect(tokens.validateToken('no-such-token', 'c')).resolves.toMatchObject({ valid: false });
    expect(openSync.mock.calls.map(([opened]) => String(opened)).filter((opened) => opened.startsWith(tokensFile))).toEqual([]);
  });

  test('a writer knows its own whole-file save: its next lookup only reads the fresh snapshot\'s id', async () => {
    const a = new PersistentSessionStore(await createService(dir), file(), { logger: recordingStoreLogger() });
    const id = a.createSession('user').sessionId;
    await a.flush();
    // Modified just now, so the stamp alone is not trusted (STAMP_DOUBT_MS): the id in the first bytes is compared.
    expect(filesOpenedBy(() => expect(a.getSession(id)).not.toBeNull())).toEqual([file()]);
  });

  test('a store without a journal: a lookup opens nothing while the file is unchanged', async () => {
    const a = new PersistentSessionStore(await createService(dir), file(), { logger: recordingStoreLogger() });
    const id = a.createSession('user').sessionId;
    await a.flush();
    const past = Date.now() / 1000 - 60;
    fs.utimesSync(file(), past, past);
    const b = new PersistentSessionStore(await createService(dir), file(), { logger: recordingStoreLogger() });
    await b.loadFromStorage();
    expect(fs.existsSync(journal())).toBe(false);
    expect(filesOpenedBy(() => expect(b.getSession(id)).not.toBeNull())).toEqual([]);
  });

  test('a journal rewritten in place with another header, longer than what was read, is not read on as a tail', async () => {
    const { b, ids } = await writerAndReader();
    const size = fs.statSync(journal()).size;
    fs.writeFileSync(journal(), `not a journal\n${'x'.repeat(size)}\n`);
    const journalOnly = ids[ids.length - 1]!;
    expect(filesOpenedBy(() => expect(b.getSession(journalOnly)).toBeNull())).toEqual([journal(), journal(), file()]);
  });

  test('a journal replaced by another file (another inode), even with the same bytes, is read again whole', async () => {
    const { b, ids } = await writerAndReader();
    fs.copyFileSync(journal(), `${journal()}.copy`);
    fs.renameSync(`${journal()}.copy`, journal());
    expect(filesOpenedBy(() => expect(b.getSession(ids[ids.length - 1]!)).not.toBeNull())).toEqual([journal(), journal(), file()]);
  });

  test('a journal cut back below what was read (same header) is read again whole', async () => {
    const { b, ids } = await writerAndReader();
    const headerLine = fs.readFileSync(journal(), 'latin1').split('\n')[0]!;
    fs.truncateSync(journal(), headerLine.length + 1);
    const journalOnly = ids[ids.length - 1]!;
    expect(filesOpenedBy(() => expect(b.getSession(journalOnly)).toBeNull())).toEqual([journal(), journal(), file()]);
    expect(b.getSession(ids[0]!)).not.toBeNull();
  });

  test('a journal that cannot be used is read once, then ignored until it changes; its lines are not applied', async () => {
    const { b, ids } = await writerAndReader();
    fs.writeFileSync(journal(), 'not a journal\n');
    const journalOnly = ids[ids.length - 1]!;
    // The tail read finds the journal replaced, then the whole store is read again.
    expect(filesOpenedBy(() => expect(b.getSession(journalOnly)).toBeNull())).toEqual([journal(), journal(), file()]);
    expect(filesOpenedBy(() => expect(b.getSession(ids[0]!)).not.toBeNull())).toEqual([]);
  });

  test('a journal a lookup ignored is still moved aside, with a warning, by the next locked operation (not overwritten by the next save)', async () => {
    const { b, bLogger, ids } = await writerAndReader();
    const garbage = 'not a journal\nbut maybe worth keeping\n';
    fs.writeFileSync(journal(), garbage);
    expect(b.getSession(ids[ids.length - 1]!)).toBeNull();
    b.createSession('next-save');
    await b.flush();
    const aside = fs.readdirSync(dir).filter((name) => name.startsWith('oauth_sessions.enc.journal.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, aside[0]!), 'latin1')).toBe(garbage);
    expect(bLogger.entries).toEqual([
      { level: 'warn', fields: expect.objectContaining({ problem: 'unreadable journal', movedTo: path.join(dir, aside[0]!) }), message: expect.any(String) },
    ]);
    // Once moved aside it is forgotten: the next save reads nothing again.
    b.createSession('after');
    const openSync = jest.spyOn(fs, 'openSync');
    await b.flush();
    expect(openSync.mock.calls.map(([opened]) => String(opened)).filter((opened) => opened === file() || opened === journal())).toEqual([]);
  });

  test('an unreadable snapshot is left to the next locked operation: a lookup keeps serving what it has, the next save moves the file aside', async () => {
    const { b, ids } = await writerAndReader();
    fs.rmSync(journal());
    fs.writeFileSync(file(), 'not a store file');
    expect(b.getSession(ids[0]!)).not.toBeNull();
    // The same for an asynchronous lookup (keys derived on the thread pool).
    const tokensFile = path.join(dir, 'tokens.enc');
    const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600 }, await createService(dir), tokensFile);
    const token = await tokens.generateToken({ clientId: 'c', userId: 'u', scope: '' });
    await tokens.flush();
    fs.writeFileSync(tokensFile, 'not a store file');
    await expect(tokens.validateToken(token, 'c')).resolves.toMatchObject({ valid: true });
    const logger = recordingStoreLogger();
    const c = new PersistentSessionStore(await createService(dir), file(), { ...BIG, logger });
    await c.loadFromStorage();
    expect(c.getSession(ids[0]!)).toBeNull();
    expect(logger.entries).toEqual([{ level: 'warn', fields: expect.objectContaining({ filePath: file() }), message: expect.stringContaining('moved aside') }]);
  });
});

describe('a catch-up never overwrites a pending local change (FR-1.1)', () => {
  test.each<[string, number]>([
    ['a small store (another writer rewrites the file: reload)', 0],
    ['a store with a journal (another writer appends: tail read)', 400],
  ])('%s: a token issued here stays, and a token removed here stays removed though the other writer rotated it', async (_, bulk) => {
    const tokensFile = path.join(dir, 'tokens.enc');
    const never = { saveDebounceMs: 3_600_000, maxSaveWaitMs: 3_600_000 };
    const a = new PersistentRefreshTokenStore({ expirySeconds: 60, logger: recordingStoreLogger(), ...never }, await createService(dir), tokensFile);
    const b = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: recordingStoreLogger(), ...never }, await createService(dir), tokensFile);
    try {
      // Long-lived tokens from a third writer, enough for a journal when `bulk` is 400.
      const c = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: recordingStoreLogger(), ...never }, await createService(dir), tokensFile);
      for (let index = 0; index < bulk; index += 1) await c.generateToken({ clientId: 'bulk', userId: `u${index}`, scope: '' });
      await c.close();
      const expiring = await a.generateToken({ clientId: 'c', userId: 'expiring', scope: '' });
      await a.flush();
      await b.loadFromStorage();
      // Pending in B (the debounce is an hour): a new token, and the removal of one expired in B's view.
      const issued = await b.generateToken({ clientId: 'c', userId: 'issued-in-b', scope: '' });
      const now = Date.now();
      const later = jest.spyOn(Date, 'now').mockReturnValue(now + 120_000);
      expect(await b.cleanup()).toBe(1);
      later.mockRestore();
      // A, on the real clock, rotates that token: its save puts it back (rotated) and adds the new one.
      const rotated = await a.rotateToken(expiring, 'c');
      expect(rotated).not.toBeNull();
      expect(await b.validateToken(rotated!, 'c')).toMatchObject({ valid: true });
      expect(await b.validateToken(issued, 'c')).toMatchObject({ valid: true });
      // Bulk tokens, the rotated one's successor and B's own: the removed token is not back.
      expect(b.getMetrics()).toMatchObject({ count: bulk + 2, rotatedCount: 0 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
