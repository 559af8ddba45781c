/**
 * `hasUnsavedChanges()` (what shutdown() reads, FR-4) while a change is on
 * its way to disk outside the save coalescer, and for the tidy-ups a load
 * makes: a transaction's change counts until its write succeeds, and again
 * when the write failed; a record dropped on load is written away with the
 * next save without counting as a change.
 */
import path from 'node:path';
import type { Deferred } from './helpers/common.js';
import { nodeFileSystem } from '../lib/files/fs-seam.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { createService, deferred, fsError, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir } from './helpers/store-harness.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

describe('hasUnsavedChanges beyond the save coalescer (FR-4.2)', () => {
  test('a revocation (a transaction) counts as unsaved while its write runs and after it failed, and not once it is on disk', async () => {
    let hold: { entered: Deferred; release: Deferred } | undefined;
    let failWith: string | undefined;
    const service = await createService(dir, {
      fileSystem: {
        write: async (handle, data) => {
          const held = hold;
          if (held !== undefined) {
            hold = undefined;
            held.entered.resolve();
            await held.release.promise;
          }
          if (failWith !== undefined) throw fsError(failWith);
          await nodeFileSystem.write(handle, data);
        },
      },
    });
    const never = { saveDebounceMs: 3_600_000, maxSaveWaitMs: 3_600_000 };
    const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: recordingStoreLogger(), ...never }, service, path.join(dir, 'tokens.enc'));
    const token = await tokens.generateToken({ clientId: 'c', userId: 'u', scope: '' });
    await tokens.flush();
    expect(tokens.hasUnsavedChanges()).toBe(false);

    hold = { entered: deferred(), release: deferred() };
    const { entered, release } = hold;
    failWith = 'ENOSPC';
    const failing = tokens.revokeToken(token);
    await entered.promise;
    expect(tokens.hasUnsavedChanges()).toBe(true);
    release.resolve();
    await expect(failing).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(tokens.hasUnsavedChanges()).toBe(true);

    failWith = undefined;
    hold = { entered: deferred(), release: deferred() };
    const second = hold;
    const revoking = tokens.revokeToken(token);
    await second.entered.promise;
    expect(tokens.hasUnsavedChanges()).toBe(true);
    second.release.resolve();
    await revoking;
    expect(tokens.hasUnsavedChanges()).toBe(false);
    expect(await readStoreFile(service, path.join(dir, 'tokens.enc'))).toEqual({ version: 1, tokens: [] });
  });

  test('a token issued while a load writes stays an unsaved change when that load then drops it as expired; the next flush settles it', async () => {
    let hold: { entered: Deferred; release: Deferred } | undefined;
    const service = await createService(dir, {
      fileSystem: {
        write: async (handle, data) => {
          const held = hold;
          hold = undefined;
          if (held !== undefined) {
            held.entered.resolve();
            await held.release.promise;
          }
          await nodeFileSystem.write(handle, data);
        },
      },
    });
    const never = { saveDebounceMs: 3_600_000, maxSaveWaitMs: 3_600_000 };
    // expirySeconds 0: a token is expired as soon as it is issued.
    const tokens = new PersistentRefreshTokenStore({ expirySeconds: 0, logger: recordingStoreLogger(), ...never }, service, path.join(dir, 'tokens.enc'));
    try {
      await tokens.generateToken({ clientId: 'c', userId: 'first', scope: '' });
      const held = { entered: deferred(), release: deferred() };
      hold = held;
      // The load writes the first token, and waits in that write while a second one is issued.
      const loading = tokens.loadFromStorage();
      await held.entered.promise;
      await tokens.generateToken({ clientId: 'c', userId: 'during-the-load', scope: '' });
      held.release.resolve();
      await loading;
      expect(tokens.getMetrics().count).toBe(0);
      expect(tokens.hasUnsavedChanges()).toBe(true);
    } finally {
      await tokens.flush();
    }
    expect(tokens.hasUnsavedChanges()).toBe(false);
  });

  test('sessions dropped on load (over maxSessions) are not unsaved changes, and the next save of a real change removes them from the file', async () => {
    const file = path.join(dir, 'sessions.enc');
    const service = await createService(dir);
    // Past the journal threshold: a save appends only the ids it names, so a forgotten tidy-up would stay on disk.
    const writer = new PersistentSessionStore(service, file, { maxSessions: 1_000, logger: recordingStoreLogger() });
    const ids = Array.from({ length: 401 }, (_, index) => writer.createSession(`user-${index}`).sessionId);
    await writer.flush();
    const reader = new PersistentSessionStore(service, file, { maxSessions: 400, logger: recordingStoreLogger() });
    await reader.loadFromStorage();
    expect(reader.hasUnsavedChanges()).toBe(false);
    const kept = ids.filter((id) => reader.getSession(id) !== null);
    expect(kept).toHaveLength(400);
    const loaded = async (): Promise<string[]> => {
      const fresh = new PersistentSessionStore(await createService(dir), file, { maxSessions: 1_000, logger: recordingStoreLogger() });
      await fresh.loadFromStorage();
      return ids.filter((id) => fresh.getSession(id) !== null);
    };
    // With nothing changed there is nothing to save: the tidy-up waits for a real change.
    await reader.flush();
    expect(await loaded()).toEqual(ids);
    reader.deleteSession(kept[0]!);
    expect(reader.hasUnsavedChanges()).toBe(true);
    await reader.flush();
    expect(await loaded()).toEqual(kept.slice(1));
  });
});
