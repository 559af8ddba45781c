/**
 * Fresh reads (issue 9 item 3) must not trust a file's stamp alone. On a file
 * system with coarse timestamps, two versions of one size written within one
 * clock tick share an mtime, and a replaced file often gets the freed inode
 * number back (the adversarial review saw reuse in 915 saves of 1,000). The
 * test builds that exact situation on this disk: a new version in the old
 * inode, with the old size and the old mtime.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { createService, makeTempDir, recordingStoreLogger, removeTempDir } from './helpers/store-harness.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

test('FR-3.3: a new version with the old inode, size and mtime is still seen (a logout is not served from memory)', async () => {
  const file = path.join(dir, 'oauth_sessions.enc');
  const a = new PersistentSessionStore(await createService(dir), file, { logger: recordingStoreLogger() });
  const b = new PersistentSessionStore(await createService(dir), file, { logger: recordingStoreLogger() });
  const kept = a.createSession('user-0000');
  await a.flush();
  // A whole second: what a coarse clock would record, and exactly restorable below.
  const tick = Math.floor(Date.now() / 1000);
  fs.utimesSync(file, tick, tick);
  const old = fs.statSync(file);
  expect(a.getSession(kept.sessionId)).not.toBeNull();

  fs.linkSync(file, path.join(dir, 'old-inode'));
  b.deleteSession(kept.sessionId);
  b.createSession('user-0001');
  await b.flush();
  const next = fs.readFileSync(file);
  expect(next.length).toBe(old.size);
  // The new bytes go into the old inode, with the old mtime: the stamp cannot tell the versions apart.
  fs.writeFileSync(path.join(dir, 'old-inode'), next);
  fs.utimesSync(path.join(dir, 'old-inode'), tick, tick);
  fs.renameSync(path.join(dir, 'old-inode'), file);
  const now = fs.statSync(file);
  expect({ ino: now.ino, size: now.size, mtimeMs: now.mtimeMs }).toEqual({ ino: old.ino, size: old.size, mtimeMs: old.mtimeMs });

  expect(a.getSession(kept.sessionId)).toBeNull();
});
