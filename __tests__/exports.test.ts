/**
 * The public surface (NFR-5: lock state is not reachable from outside the
 * EncryptionService) and the barrel's shape.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as library from '../lib/index.js';
import * as testing from '../lib/testing.js';
import { EncryptionService, PersistentClientStore, PersistentRefreshTokenStore, PersistentSessionStore, SerialQueue } from '../lib/index.js';
import { makeTempDir } from './helpers/common.js';

test('FR-3.1 the main entry exports exactly what a server uses: the classes, shutdown helpers and typed errors, and no test seam', () => {
  expect(Object.keys(library).sort()).toEqual(
    [
      'DecryptionError',
      'EncryptionService',
      'FileMutex',
      'InvalidArgumentError',
      'KeyFileError',
      'KeyMismatchError',
      'LockReentryError',
      'MockedFileSystemError',
      'NotInitializedError',
      'OptionRangeError',
      'PersistentClientStore',
      'PersistentRefreshTokenStore',
      'PersistentSessionStore',
      'SerialQueue',
      'ShutdownTimeoutError',
      'StoreClosedError',
      'StoreFlushError',
      'UnsupportedStoreVersionError',
      'asyncClientStore',
      'asyncRefreshTokenStore',
      'asyncSessionStore',
      'installShutdownHandlers',
      'shutdown',
    ].sort(),
  );
});

test('the testing entry exports the fault-injection seam: the real file system and the real key derivation', () => {
  expect(Object.keys(testing).sort()).toEqual(['nodeFileSystem', 'scryptKey']);
  expect(Object.isFrozen(testing.nodeFileSystem)).toBe(true);
  expect(Object.keys(testing.nodeFileSystem).sort()).toEqual(
    ['chmod', 'close', 'fileMode', 'fsync', 'link', 'mkdir', 'open', 'readFile', 'readdir', 'realpath', 'rename', 'stat', 'unlink', 'utimes', 'write'],
  );
});

describe('lock state is private at run time (NFR-5)', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('ssm-exports-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a busy EncryptionService and its stores expose no own property: no locks, queue, key or records', async () => {
    const service = new EncryptionService({ encryptionKey: 'exports-test-key', keyStoragePath: path.join(dir, 'key'), durable: false });
    await service.initialize();
    const file = path.join(dir, 'f.enc');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = service.withFileLock(file, () => gate);
    const queued = service.encryptToFile('secret plaintext', file);
    const stores = [
      new PersistentSessionStore(service, path.join(dir, 's.enc')),
      new PersistentRefreshTokenStore({ expirySeconds: 60 }, service, path.join(dir, 't.enc')),
      new PersistentClientStore({ allowedRedirectUris: [] }, service, path.join(dir, 'c.enc')),
    ];
    expect(service.hasPendingWrites()).toBe(true);
    for (const instance of [service, ...stores]) {
      expect(Reflect.ownKeys(instance)).toEqual([]);
      expect(JSON.stringify(instance)).toBe('{}');
    }
    release();
    await Promise.all([held, queued]);
    await Promise.all(stores.map((store) => store.flush()));
    await service.waitForPendingWrites();
  });

  test('a SerialQueue instance has no own property either', () => {
    const queue = new SerialQueue();
    void queue.run('k', () => undefined);
    expect(Reflect.ownKeys(queue)).toEqual([]);
  });
});
