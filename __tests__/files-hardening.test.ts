/**
 * Issue 10, defects 3 and 5 (the files layer): targets whose names nearly
 * fill the 255-byte limit can be saved, loaded, locked and moved aside; and
 * a durable write that has to create directories fsyncs each created
 * directory's parent. Real files in a fresh temp dir per test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { nodeFileSystem, type FileSystem } from '../lib/files/fs-seam.js';
import { acquireProcessLock } from '../lib/files/process-lock.js';
import { NAME_MAX_BYTES, siblingPath } from '../lib/files/sibling-name.js';
import { tempFileOwner, tempPathFor } from '../lib/files/temp-name.js';
import { sweepTempFiles, TEMP_SWEEP_MIN_AGE_MS } from '../lib/files/temp-sweep.js';
import { moveAside } from '../lib/stores/move-aside.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { makeTempDir, recordingStoreLogger, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

let dir: string;
beforeEach(() => (dir = fs.realpathSync(makeTempDir())));
afterEach(() => removeTempDir(dir));

const bytes = (name: string): number => Buffer.byteLength(path.basename(name));
/** Names of 240 and 250 bytes (ASCII), and 250 bytes of two-byte characters. */
const LONG_NAMES: [string, string][] = [
  ['240 ASCII bytes', `${'s'.repeat(236)}.enc`],
  ['250 ASCII bytes', `${'s'.repeat(246)}.enc`],
  ['250 bytes of é', `${'é'.repeat(123)}.enc`],
];

async function service(seam: Partial<FileSystem> = {}, durable = false): Promise<EncryptionService> {
  const created = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key'), durable }, { fileSystem: seam });
  await created.initialize();
  return created;
}

describe('long target names (NFR-6)', () => {
  test.each(LONG_NAMES)('a target of %s is saved and read back, and leaves no temp file', async (_label, name) => {
    const target = path.join(dir, name);
    const encryption = await service();
    await encryption.encryptToFile('payload', target);
    expect(await encryption.decryptFromFile(target)).toBe('payload');
    expect(fs.readdirSync(dir).sort()).toEqual([name].sort());
  });

  test.each(LONG_NAMES)('temp, lock and aside names beside a target of %s fit 255 bytes, and a temp name still says whose it is', (_label, name) => {
    const target = path.join(dir, name);
    const temp = tempPathFor(target);
    expect(bytes(temp)).toBeLessThanOrEqual(NAME_MAX_BYTES);
    expect(path.dirname(temp)).toBe(dir);
    expect(tempFileOwner(temp)).toBe(process.pid);
    expect(bytes(siblingPath(target, '.lock'))).toBeLessThanOrEqual(NAME_MAX_BYTES);
    expect(bytes(siblingPath(target, '.corrupt-1767225600000-12'))).toBeLessThanOrEqual(NAME_MAX_BYTES);
  });

  test('shortened names are deterministic, keep different targets apart, and leave names that fit unchanged', () => {
    const a = path.join(dir, `${'a'.repeat(250)}.enc`);
    const b = path.join(dir, `${'a'.repeat(250)}.env`);
    expect(siblingPath(a, '.lock')).toBe(siblingPath(a, '.lock'));
    expect(siblingPath(a, '.lock')).not.toBe(siblingPath(b, '.lock'));
    expect(siblingPath(path.join(dir, 'sessions.enc'), '.lock')).toBe(path.join(dir, 'sessions.enc.lock'));
    // Cut on a character boundary: no replacement character from a split é.
    expect(siblingPath(path.join(dir, 'é'.repeat(127)), '.lock')).not.toContain('\uFFFD');
  });

  test('an abandoned temp file of a long target, with its shortened name, is swept', async () => {
    // This process's pid, written before it started: a crashed predecessor's leftover.
    const temp = tempPathFor(path.join(dir, `${'s'.repeat(246)}.enc`));
    fs.writeFileSync(temp, 'leftover');
    const old = (Math.min(Date.now() - TEMP_SWEEP_MIN_AGE_MS, performance.timeOrigin) - 60_000) / 1000;
    fs.utimesSync(temp, old, old);
    const result = await sweepTempFiles(nodeFileSystem, dir);
    expect(result.removed).toEqual([path.basename(temp)]);
  });

  test.each(LONG_NAMES)('the cross-process lock of a target of %s is taken and released', async (_label, name) => {
    const lock = await acquireProcessLock(path.join(dir, name));
    expect(fs.readdirSync(dir)).toHaveLength(1);
    await lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test.each([
    ['236 bytes', `${'s'.repeat(232)}.enc`],
    ['250 bytes', `${'s'.repeat(246)}.enc`],
  ])('a bad store file of %s is moved aside by loadFromStorage, and the store starts empty', async (_label, name) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, 'not a store file');
    const logger = recordingStoreLogger();
    const store = new PersistentSessionStore(await service(), file, { logger });
    await store.loadFromStorage();
    const [aside] = fs.readdirSync(dir).filter((entry) => entry !== 'key');
    expect(fs.readdirSync(dir).filter((entry) => entry !== 'key')).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, aside!), 'utf8')).toBe('not a store file');
    expect(logger.entries).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ movedTo: path.join(dir, aside!) }) })]);
  });

  test('moving aside twice in one millisecond never overwrites, with long names too', async () => {
    const file = path.join(dir, `${'s'.repeat(246)}.enc`);
    fs.writeFileSync(file, 'first');
    const first = await moveAside(file, 1767225600000);
    fs.writeFileSync(file, 'second');
    const second = await moveAside(file, 1767225600000);
    expect(first).not.toBe(second);
    expect([fs.readFileSync(first, 'utf8'), fs.readFileSync(second, 'utf8')]).toEqual(['first', 'second']);
  });
});

describe('created directories are durable (FR-4.2)', () => {
  /** A seam recording each directory opened for fsync (flags 'r'). */
  function recordingDirectorySyncs(): { seam: Partial<FileSystem>; synced: string[] } {
    const synced: string[] = [];
    const seam: Partial<FileSystem> = {
      open: async (file, flags, mode) => {
        if (flags === 'r') synced.push(file);
        return nodeFileSystem.open(file, flags, mode);
      },
    };
    return { seam, synced };
  }

  test('a durable write into new nested directories fsyncs the parent of each directory it created', async () => {
    const { seam, synced } = recordingDirectorySyncs();
    const encryption = await service(seam, true);
    synced.length = 0;
    await encryption.encryptToFile('data', path.join(dir, 'new', 'deeper', 'a.enc'));
    expect(new Set(synced)).toEqual(new Set([dir, path.join(dir, 'new'), path.join(dir, 'new', 'deeper')]));
  });

  test('a generated key in a new directory (first run, ~/.sage) has that directory’s parent fsynced', async () => {
    const { seam, synced } = recordingDirectorySyncs();
    const keyPath = path.join(dir, 'home', '.sage', 'key');
    const encryption = new EncryptionService({ keyStoragePath: keyPath }, { fileSystem: seam });
    await encryption.initialize();
    expect(fs.existsSync(keyPath)).toBe(true);
    expect(synced).toEqual(expect.arrayContaining([dir, path.join(dir, 'home'), path.join(dir, 'home', '.sage')]));
  });

  test('with durable: false no directory is fsynced, created or not', async () => {
    const { seam, synced } = recordingDirectorySyncs();
    const encryption = await service(seam, false);
    synced.length = 0;
    await encryption.encryptToFile('data', path.join(dir, 'new', 'a.enc'));
    expect(synced).toEqual([]);
  });

  test('the process lock creating a missing directory makes it durable', async () => {
    const { seam, synced } = recordingDirectorySyncs();
    const lock = await acquireProcessLock(path.join(dir, 'new', 'a.enc'), { fileSystem: { ...nodeFileSystem, ...seam } });
    await lock.release();
    expect(synced).toEqual([dir]);
  });
});
