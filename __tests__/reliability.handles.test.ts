/**
 * Leaks of timers and handles in the stores (issue 6, part 7; issue 4
 * behaviour 9; NFR-3). Under fake timers, every timer the stores and the
 * service arm (the token debounce, the queue's wait warning, the shutdown
 * handler's time limit) is gone once the stores are flushed and the service
 * is idle, also after failed saves. In a real process that uses all three
 * stores and shutdown(), nothing keeps the event loop alive. The queue's own
 * leak checks live in reliability.queue-leak.test.ts.
 */
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { nodeFileSystem } from '../lib/files/fs-seam.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { installShutdownHandlers } from '../lib/stores/shutdown.js';
import { requireBuild, startFixture } from './helpers/reliability-harness.js';
import {
  deferred, drain, fsError, makeTempDir, recordingStoreLogger, removeTempDir, settleBackgroundSaves, TEST_KEY, useFakeTimersWithRealIo,
} from './helpers/store-harness.js';

let dir: string;
beforeAll(requireBuild);
beforeEach(() => (dir = makeTempDir()));
afterEach(() => {
  jest.useRealTimers();
  removeTempDir(dir);
});

/** A service whose renames fail while `failWith` holds an error; default queue thresholds, so its wait timer is real. */
async function openAll() {
  const fault: { error?: Error } = {};
  const warnings: string[] = [];
  const service = new EncryptionService(
    { encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key'), durable: false, queue: { logger: { warn: (_, message) => void warnings.push(message), debug: () => undefined } } },
    { fileSystem: { rename: (from, to) => (fault.error === undefined ? nodeFileSystem.rename(from, to) : Promise.reject(fault.error)) } },
  );
  await service.initialize();
  const logger = recordingStoreLogger();
  const sessions = new PersistentSessionStore(service, path.join(dir, 'sessions.enc'), { logger });
  const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger }, service, path.join(dir, 'tokens.enc'));
  const clients = new PersistentClientStore({ allowedRedirectUris: ['*'], logger }, service, path.join(dir, 'clients.enc'));
  await Promise.all([sessions.loadFromStorage(), tokens.loadFromStorage(), clients.loadFromStorage()]);
  return { service, sessions, tokens, clients, fault, warnings, logger };
}

describe('no timer is left once the stores are flushed and the service is idle (part 7)', () => {
  test('the debounce and the queue wait-warning timer, armed and fired, are all cleared', async () => {
    useFakeTimersWithRealIo();
    const { service, sessions, tokens, clients, warnings } = await openAll();
    const gate = deferred();
    const held = service.withFileLock(path.join(dir, 'clients.enc'), () => gate.promise);
    for (let i = 0; i < 10; i += 1) sessions.createSession(`user-${i}`);
    await tokens.generateToken({ clientId: 'client-a', userId: 'user-1', scope: 'openid' });
    const registering = clients.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/cb'] });
    // The registration's save reaches the queue after a few real I/O turns (canonical path, sweep).
    for (let turn = 0; turn < 10_000 && jest.getTimerCount() < 2; turn += 1) await drain();
    // The token debounce, and the wait-warning timer of the registration queued behind the held lock.
    expect(jest.getTimerCount()).toBe(2);
    await jest.advanceTimersByTimeAsync(5000);
    expect(warnings).toEqual([expect.stringMatching(/has waited \d+ ms/)]);
    gate.resolve();
    await Promise.all([held, registering, sessions.flush(), tokens.flush(), clients.flush()]);
    await settleBackgroundSaves(service);
    expect(service.hasPendingWrites()).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('after failed background, debounced and awaited saves, and a SIGTERM shutdown that fails, no timer is left', async () => {
    useFakeTimersWithRealIo();
    const { service, sessions, tokens, clients, fault, logger } = await openAll();
    fault.error = fsError('EXDEV', 'rename');
    sessions.createSession('user-1');
    await tokens.generateToken({ clientId: 'client-a', userId: 'user-1', scope: 'openid' });
    await expect(clients.registerClient({ client_name: 'App', redirect_uris: ['https://app.example/cb'] })).rejects.toMatchObject({ code: 'EXDEV' });
    await jest.advanceTimersByTimeAsync(1000);
    await settleBackgroundSaves(service);
    expect(logger.entries.map(({ fields }) => fields.store)).toEqual(['sessions', 'refresh-tokens']);
    const exited = deferred<number>();
    const uninstall = installShutdownHandlers([sessions, tokens, clients], service, { signals: ['SIGTERM'], exit: (code) => exited.resolve(code), logger });
    try {
      process.emit('SIGTERM', 'SIGTERM');
      expect(await exited.promise).toBe(1);
    } finally {
      uninstall();
    }
    expect(jest.getTimerCount()).toBe(0);
    fault.error = undefined;
    await Promise.all([sessions.flush(), tokens.flush(), clients.flush()]);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('a process that used the stores exits by itself (part 7)', () => {
  test('all three stores, a failed save, queued saves, shutdown handlers installed, then shutdown(): nothing keeps it alive', async () => {
    let doneAt = 0;
    let report: { failedWith?: string; added?: string[]; pending?: boolean } = {};
    const { exit } = startFixture('reliability-handles.mjs', [dir], {
      timeoutMs: 15_000,
      onLine: (line) => {
        if (!line.startsWith('done ')) return;
        doneAt = performance.now();
        report = JSON.parse(line.slice('done '.length)) as typeof report;
      },
    });
    const { code, signal, isTimedOut, stderr } = await exit;
    const lingeredMs = performance.now() - doneAt;
    expect({ code, signal, isTimedOut, stderr }).toEqual({ code: 0, signal: null, isTimedOut: false, stderr: '' });
    // Beside what the process had before the library ran, only its stdio pipes and a request completing
    // at that moment (a file close) may remain, never a timer or another handle.
    const isExpected = (name: string): boolean => name === 'PipeWrap' || name === 'TTYWrap' || name.endsWith('Req') || name.startsWith('FSReq');
    expect({ ...report, added: report.added?.filter((name) => !isExpected(name)) }).toEqual({
      failedWith: 'EXDEV', added: [], pending: false,
    });
    // The debounce and wait-warning timers are 60 s in the fixture; a kept reference would show here.
    expect(lingeredMs).toBeLessThan(5000);
  });
});
