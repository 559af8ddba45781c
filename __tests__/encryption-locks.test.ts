/**
 * Issue 3, behaviours 4, 5 (serialisation) and 8: per-file locks keyed by
 * canonical path, in call order, parallel across files (FR-1, FR-2, FR-3.3,
 * FR-4), with idle tracking and metrics.
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalPath } from '../lib/files/canonical-path.js';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { nodeFileSystem } from '../lib/files/fs-seam.js';
import { capturingLogger, tempFilesIn, siblingKeyFile } from './fixtures/encryption/helpers.js';
import { deferred, drain, makeTempDir, removeTempDir, type Deferred } from './helpers/common.js';

let dir: string;
beforeEach(() => (dir = makeTempDir()));
afterEach(() => {
  jest.useRealTimers();
  removeTempDir(dir);
});

async function createService(options: { durable?: boolean } = {}): Promise<{ service: EncryptionService; lines: ReturnType<typeof capturingLogger>['lines'] }> {
  const { logger, lines } = capturingLogger();
  const service = new EncryptionService({ encryptionKey: 'test-key', keyStoragePath: siblingKeyFile(dir, 'test-key'), logger, ...options });
  await service.initialize();
  return { service, lines };
}

/** Holds a file's lock until `release` is resolved; `entered` resolves once it holds it. */
function hold(service: EncryptionService, file: string): { entered: Deferred<void>; release: Deferred<void>; done: Promise<void> } {
  const entered = deferred();
  const release = deferred();
  const done = service.withFileLock(file, async () => {
    entered.resolve();
    await release.promise;
  });
  return { entered, release, done };
}

/**
 * Whether a call on `spelling` is blocked while `held` holds its lock. Probe,
 * no timing: a control call on an unrelated file is made after the probe;
 * calls are admitted in call order, so once the control runs, the probe has
 * been admitted and would be running too unless it waits for the lock.
 */
async function isBlockedBy(service: EncryptionService, held: string, spelling: string): Promise<boolean> {
  const holder = hold(service, held);
  await holder.entered.promise;
  let hasProbeRun = false;
  const probe = service.withFileLock(spelling, () => void (hasProbeRun = true));
  await service.withFileLock(path.join(dir, `control-${Math.random()}`), () => undefined);
  const isBlocked = !hasProbeRun;
  holder.release.resolve();
  await Promise.all([holder.done, probe]);
  return isBlocked;
}

describe('FR-1: saves on one file are serialised', () => {
  test('1,000 concurrent encryptToFile calls on one path all resolve, the file holds the last, no temp remains', async () => {
    const { service, lines } = await createService();
    const file = path.join(dir, 'sessions.enc');
    const saves = Array.from({ length: 1000 }, (_, index) => service.encryptToFile(JSON.stringify({ index }), file));
    const outcomes = await Promise.allSettled(saves);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    expect(await service.decryptFromFile(file)).toBe(JSON.stringify({ index: 999 }));
    expect(tempFilesIn(dir)).toEqual([]);
    expect(service.getMutexMetrics()).toMatchObject({ activeFiles: 0, pending: 0, queueDepthWarnings: 1 });
    // The queue's warnings reach the service logger (adapted); a slow disk may add a wait warning.
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.fields.depth)).toContain(11);
  });

  test('a read queued behind a write sees the written data (FR-3.3)', async () => {
    const { service } = await createService();
    const file = path.join(dir, 'clients.enc');
    await service.encryptToFile('old', file);
    const writing = service.encryptToFile('new', file);
    const reading = service.decryptFromFile(file);
    expect(await reading).toBe('new');
    await writing;
  });

  test('operations run in call order, and one failing callback does not block the next', async () => {
    const { service } = await createService();
    const file = path.join(dir, 'order.enc');
    const order: string[] = [];
    const first = service.withFileLock(file, async () => {
      order.push('first');
      throw Object.assign(new Error('boom'), { code: 'ERR_TEST' });
    });
    const second = service.withFileLock(file, () => {
      order.push('second');
      return 2;
    });
    await expect(first).rejects.toMatchObject({ code: 'ERR_TEST' });
    expect(await second).toBe(2);
    expect(order).toEqual(['first', 'second']);
  });
});

describe('FR-2.1: different files proceed in parallel', () => {
  test('an operation on another file starts while one file is held', async () => {
    const { service } = await createService();
    const holder = hold(service, path.join(dir, 'sessions.enc'));
    await holder.entered.promise;
    // Would never resolve if the files shared a lock: the holder is released only afterwards.
    await service.encryptToFile('client data', path.join(dir, 'clients.enc'));
    const other = hold(service, path.join(dir, 'tokens.enc'));
    await other.entered.promise;
    expect(service.getMutexMetrics().activeFiles).toBe(2);
    holder.release.resolve();
    other.release.resolve();
    await Promise.all([holder.done, other.done]);
  });

  test('the probe does see a block on the same file (so the parallel checks below can fail)', async () => {
    const { service } = await createService();
    const file = path.join(dir, 'same.enc');
    expect(await isBlockedBy(service, file, file)).toBe(true);
    expect(await isBlockedBy(service, file, path.join(dir, 'other.enc'))).toBe(false);
  });
});

describe('FR-2.3: every spelling of a path shares one lock', () => {
  test('relative and absolute spellings', async () => {
    const { service } = await createService();
    const file = path.join(dir, 'sessions.enc');
    expect(await isBlockedBy(service, file, path.relative(process.cwd(), file))).toBe(true);
    expect(await isBlockedBy(service, path.relative(process.cwd(), file), file)).toBe(true);
  });

  test('a/../b and ./ spellings', async () => {
    const { service } = await createService();
    fs.mkdirSync(path.join(dir, 'sub'));
    const file = path.join(dir, 'sessions.enc');
    expect(await isBlockedBy(service, file, `${dir}/sub/../sessions.enc`)).toBe(true);
    expect(await isBlockedBy(service, file, `${dir}/./sessions.enc`)).toBe(true);
  });

  test('a path through a symlinked directory, before and after the file exists', async () => {
    const { service } = await createService();
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const file = path.join(dir, 'real', 'sessions.enc');
    const viaLink = path.join(dir, 'link', 'sessions.enc');
    expect(await isBlockedBy(service, file, viaLink)).toBe(true);
    await service.encryptToFile('data', viaLink);
    expect(fs.lstatSync(path.join(dir, 'link')).isSymbolicLink()).toBe(true);
    expect(await service.decryptFromFile(file)).toBe('data');
    expect(await isBlockedBy(service, viaLink, file)).toBe(true);
  });

  test('`..` after a symlink is resolved as the kernel does, not lexically', async () => {
    fs.mkdirSync(path.join(dir, 'deep', 'inner'), { recursive: true });
    fs.symlinkSync(path.join(dir, 'deep', 'inner'), path.join(dir, 'link'));
    const spelled = `${dir}/link/../x.enc`;
    const real = fs.realpathSync(dir);
    expect(await canonicalPath(nodeFileSystem, spelled)).toBe(path.join(real, 'deep', 'x.enc'));
    const { service } = await createService();
    await service.encryptToFile('where the kernel puts it', spelled);
    expect(fs.existsSync(path.join(dir, 'deep', 'x.enc'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'x.enc'))).toBe(false);
  });

  test('a missing directory part and a part that is a regular file keep their spelling', async () => {
    const real = fs.realpathSync(dir);
    expect(await canonicalPath(nodeFileSystem, `${dir}/missing/deeper/x.enc`)).toBe(path.join(real, 'missing', 'deeper', 'x.enc'));
    fs.writeFileSync(path.join(dir, 'plain'), '');
    expect(await canonicalPath(nodeFileSystem, `${dir}/plain/x.enc`)).toBe(path.join(real, 'plain', 'x.enc'));
  });

  test('a path that cannot be resolved (a symlink loop) rejects with ELOOP and blocks nothing behind it', async () => {
    const { service } = await createService();
    fs.symlinkSync(path.join(dir, 'loop-b'), path.join(dir, 'loop-a'));
    fs.symlinkSync(path.join(dir, 'loop-a'), path.join(dir, 'loop-b'));
    const failing = service.withFileLock(path.join(dir, 'loop-a', 'f.enc'), () => 'never');
    const next = service.withFileLock(path.join(dir, 'f.enc'), () => 'next');
    await expect(failing).rejects.toMatchObject({ code: 'ELOOP' });
    expect(await next).toBe('next');
    expect(service.hasPendingWrites()).toBe(false);
  });

  test('call order is kept when an earlier call resolves its path more slowly than a later one', async () => {
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const file = path.join(dir, 'real', 'f.enc');
    const viaLink = path.join(dir, 'link', 'f.enc');
    const slowResolution = deferred();
    const fastResolved = deferred();
    const service = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k') }, {
      fileSystem: {
        realpath: async (spelling) => {
          if (spelling.startsWith(path.join(dir, 'link'))) await slowResolution.promise;
          const real = await nodeFileSystem.realpath(spelling);
          if (spelling.startsWith(path.join(dir, 'real'))) fastResolved.resolve();
          return real;
        },
      },
    });
    const order: string[] = [];
    const first = service.withFileLock(viaLink, () => order.push('first'));
    const second = service.withFileLock(file, () => order.push('second'));
    await fastResolved.promise;
    // A macrotask: every microtask the fast call could run (enqueue, start) has run by now.
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    slowResolution.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
  });

  test('call order is kept across spellings: interleaved saves leave the last one', async () => {
    const { service } = await createService({ durable: false });
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const file = path.join(dir, 'real', 'f.enc');
    const spellings = [file, path.relative(process.cwd(), file), path.join(dir, 'link', 'f.enc'), `${dir}/real/../real/f.enc`];
    const saves = Array.from({ length: 200 }, (_, index) => service.encryptToFile(String(index), spellings[index % spellings.length]!));
    await Promise.all(saves);
    expect(await service.decryptFromFile(file)).toBe('199');
  });
});

describe('FR-4: pending work, idle and metrics', () => {
  test('waitForPendingWrites resolves only after saves still being admitted have landed', async () => {
    const { service } = await createService();
    const file = path.join(dir, 'sessions.enc');
    expect(service.hasPendingWrites()).toBe(false);
    await service.waitForPendingWrites();
    const saves = [service.encryptToFile('1', file), service.encryptToFile('2', file), service.encryptToFile('3', path.join(dir, 'b.enc'))];
    expect(service.hasPendingWrites()).toBe(true);
    await service.waitForPendingWrites();
    expect(service.hasPendingWrites()).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['b.enc', 'sessions.enc']);
    expect(await service.decryptFromFile(file)).toBe('2');
    await Promise.all(saves);
  });

  test('waitForPendingWrites waits for a held lock and for work queued behind it', async () => {
    const { service } = await createService();
    const file = path.join(dir, 'sessions.enc');
    const holder = hold(service, file);
    await holder.entered.promise;
    const saving = service.encryptToFile('queued', file);
    let isIdle = false;
    const idle = service.waitForPendingWrites().then(() => (isIdle = true));
    await service.withFileLock(path.join(dir, 'control'), () => undefined);
    expect(isIdle).toBe(false);
    holder.release.resolve();
    await idle;
    expect(await service.decryptFromFile(file)).toBe('queued');
    await saving;
  });

  test('while a write runs after its admission, hasPendingWrites is true and waitForPendingWrites waits for it', async () => {
    const { service } = await createService();
    const holder = hold(service, path.join(dir, 'a.enc'));
    await holder.entered.promise;
    // Another call admitted and finished: the admission chain is idle, only the held lock is busy.
    await service.withFileLock(path.join(dir, 'control'), () => undefined);
    expect(service.hasPendingWrites()).toBe(true);
    let isIdle = false;
    const idle = service.waitForPendingWrites().then(() => (isIdle = true));
    await drain();
    expect(isIdle).toBe(false);
    holder.release.resolve();
    await idle;
    expect(service.hasPendingWrites()).toBe(false);
    await holder.done;
  });

  test('getMutexMetrics maps the queue: live files, pending, waits; nothing left when idle (NFR-3)', async () => {
    const { service } = await createService();
    const a = hold(service, path.join(dir, 'a'));
    const b = hold(service, path.join(dir, 'b'));
    await Promise.all([a.entered.promise, b.entered.promise]);
    const waiting = service.withFileLock(path.join(dir, 'a'), () => undefined);
    await service.withFileLock(path.join(dir, 'control'), () => undefined);
    expect(service.getMutexMetrics()).toMatchObject({ activeFiles: 2, pending: 3 });
    a.release.resolve();
    b.release.resolve();
    await Promise.all([a.done, b.done, waiting]);
    const metrics = service.getMutexMetrics();
    expect(metrics).toMatchObject({ activeFiles: 0, pending: 0, queueDepthWarnings: 0, waitWarnings: 0 });
    expect(metrics.longestWaitMs).toBeGreaterThan(0);
    expect(metrics.totalWaitTimeMs).toBeGreaterThanOrEqual(metrics.longestWaitMs);
    expect(service.getHealthStatus()).toEqual({ initialized: true, keySource: 'file', keyStoragePath: path.join(`${dir}-keys`, 'key'), mutex: metrics });
  });

  test('a wait past waitWarningMs is counted and logged through the service logger, with no timer left (FR-1.4)', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { logger, lines } = capturingLogger();
    const service = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k'), logger, queue: { waitWarningMs: 5000 } });
    const file = path.join(dir, 'slow.enc');
    const holder = hold(service, file);
    await holder.entered.promise;
    const waiting = service.withFileLock(file, () => 'ran');
    await service.withFileLock(path.join(dir, 'control'), () => undefined);
    jest.advanceTimersByTime(4999);
    expect(service.getMutexMetrics().waitWarnings).toBe(0);
    jest.advanceTimersByTime(1);
    expect(service.getMutexMetrics().waitWarnings).toBe(1);
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.fields)).toEqual([
      { key: fs.realpathSync(file.replace(/slow\.enc$/, '')) + path.sep + 'slow.enc', waitedMs: 5000, depth: 1 },
    ]);
    holder.release.resolve();
    expect(await waiting).toBe('ran');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('config.queue.logger takes the queue lines instead of the service logger', async () => {
    const service = capturingLogger();
    const queue = capturingLogger();
    const encryption = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k'), logger: service.logger, queue: { logger: queue.logger, depthWarningThreshold: 1 } });
    const file = path.join(dir, 'f');
    const holder = hold(encryption, file);
    await holder.entered.promise;
    const waiters = [encryption.withFileLock(file, () => 1), encryption.withFileLock(file, () => 2)];
    await encryption.withFileLock(path.join(dir, 'control'), () => undefined);
    holder.release.resolve();
    await Promise.all([holder.done, ...waiters]);
    expect(queue.lines.map((line) => line.level)).toEqual(['warn']);
    expect(service.lines).toEqual([]);
  });

  test('without a logger, service warnings are EncryptionServiceWarning and queue warnings stay SerialQueueWarning', async () => {
    // A spy, not process.on('warning'): jest's sandboxed process object does not receive Node's warning events.
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const service = new EncryptionService({ keyStoragePath: path.join(dir, 'keys', 'key'), queue: { depthWarningThreshold: 0 } });
      await service.initialize();
      const file = path.join(dir, 'f');
      const holder = hold(service, file);
      await holder.entered.promise;
      const waiting = service.withFileLock(file, () => undefined);
      await service.withFileLock(path.join(dir, 'control'), () => undefined);
      holder.release.resolve();
      await Promise.all([holder.done, waiting]);
      const warnings = emitWarning.mock.calls.map(([warning]) => warning as Error);
      expect(warnings.map((warning) => warning.name).sort()).toEqual(['EncryptionServiceWarning', 'SerialQueueWarning']);
      expect(warnings.find((warning) => warning.name === 'EncryptionServiceWarning')).toMatchObject({ keyStoragePath: path.join(dir, 'keys', 'key') });
    } finally {
      emitWarning.mockRestore();
    }
  });

  test('a throwing logger never fails an operation', async () => {
    const throwing = () => {
      throw new Error('logger down');
    };
    const service = new EncryptionService({
      keyStoragePath: path.join(dir, 'keys', 'key'),
      logger: { info: throwing, warn: throwing, error: throwing, debug: throwing },
    });
    await service.initialize();
    await service.encryptToFile('x', path.join(dir, 'f'));
    expect(await service.decryptFromFile(path.join(dir, 'f'))).toBe('x');
  });
});
