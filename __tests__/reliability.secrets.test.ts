/**
 * Secrets (issue 6, part 6; NFR-4): the adverse scenarios of parts 4 to 7
 * (faults in background, debounced and awaited saves, cleanup failures, bad
 * files, a generated key, queue warnings, failed shutdowns) are run while
 * everything a reader could see is captured: every line of the service's,
 * the stores' and the queue's loggers, every process warning, and every
 * error with its message, stack, `cause`, `cleanupErrors` and `errors`,
 * rendered in full. No capture may contain the key, a derived key (derived
 * here with node:crypto from the known secret and each salt found on disk),
 * a token, a session id, a client id or plaintext. Once in this process with
 * capturing loggers, once in a child with the default reporters
 * (process.on('warning'), Node's own stderr output and NODE_DEBUG lines).
 */
import { createDecipheriv, scryptSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import type { FileSystem } from '../lib/files/fs-seam.js';
import type { QueueLogger } from '../lib/support/logger.js';
import type { Logger } from '../lib/encryption/service-logger.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { installShutdownHandlers, shutdown } from '../lib/stores/shutdown.js';
import type { StoreLogger } from '../lib/stores/store-logger.js';
import { faultySeam } from './fixtures/encryption/helpers.js';
import { requireBuild, runFixture } from './helpers/reliability-harness.js';
import { deferred, fsError, makeTempDir, removeTempDir } from './helpers/store-harness.js';

// Both repeated in fixtures/reliability-secrets.mjs.
const MARK = 'PLAINTEXT-MARK-7f3e';
const OTHER_SECRET = 'another-secret-for-secrets-test-0b9a';
const FAULTS: [keyof FileSystem, string][] = [['write', 'ENOSPC'], ['fsync', 'EIO'], ['rename', 'EPERM'], ['rename', 'EXDEV'], ['open', 'EMFILE']];
/** A leak of any 16 consecutive characters of a long secret counts. */
const WINDOW = 16;

interface Secret {
  readonly label: string;
  readonly value: string;
}

/** Which secrets appear (in part) in which captured texts; labels only, so a failure does not print the secret. */
function findLeaks(texts: readonly string[], secrets: readonly Secret[]): string[] {
  const leaks: string[] = [];
  for (const { label, value } of secrets) {
    const probes = value.length <= WINDOW ? [value] : Array.from({ length: value.length - WINDOW + 1 }, (_, at) => value.slice(at, at + WINDOW));
    const index = texts.findIndex((text) => probes.some((probe) => text.includes(probe)));
    if (index !== -1) leaks.push(`${label} in capture #${index}`);
  }
  return leaks;
}

/** Every secret on disk under `dir`, each with the keys derived from it for every salt found in a payload there. */
function keysAndDerivedKeys(dir: string, secrets: readonly Secret[]): Secret[] {
  const salts = new Set<string>();
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (fs.statSync(full).size < 10_000_000) {
        const [salt, ...rest] = fs.readFileSync(full, 'utf8').trim().split(':');
        if (rest.length === 3 && /^[0-9a-f]{32}$/.test(salt!)) salts.add(salt!);
      }
    }
  };
  walk(dir);
  const derived = secrets.flatMap(({ label, value }) =>
    [...salts].flatMap((salt) => {
      const key = scryptSync(value, Buffer.from(salt, 'hex'), 32);
      return [{ label: `${label} derived (hex)`, value: key.toString('hex') }, { label: `${label} derived (base64)`, value: key.toString('base64') }];
    }),
  );
  return [...secrets, ...derived];
}

/** Whether one of the secrets, as a hex key, decrypts the payload in `file`: proof that the derivation here is the service's. */
function opens(file: string, secrets: readonly Secret[]): boolean {
  const [salt, iv, tag, data] = fs.readFileSync(file, 'utf8').trim().split(':').map((part) => Buffer.from(part, 'hex'));
  return secrets.some(({ value }) => {
    if (!/^[0-9a-f]{64}$/.test(value) || salt === undefined) return false;
    try {
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(value, 'hex'), iv!, { authTagLength: 16 });
      decipher.setAuthTag(tag!);
      Buffer.concat([decipher.update(data!), decipher.final()]);
      return true;
    } catch {
      return false;
    }
  });
}

/** The counts below their minimum, as [name, count] pairs. */
function shortfalls<K extends string>(counts: Record<K, number>, minimum: Record<K, number>): [string, number][] {
  return (Object.keys(minimum) as K[]).filter((name) => counts[name] < minimum[name]).map((name) => [name, counts[name]]);
}

const render = (value: unknown): string => inspect(value, { depth: 8, showHidden: true, breakLength: Infinity });

/** Everything captured, plus how deep the error walk went (so a walk that finds nothing fails). */
function transcript() {
  const texts: string[] = [];
  const counts = { service: 0, store: 0, queue: 0, warning: 0, error: 0, cause: 0, cleanupErrors: 0, errors: 0 };
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const line = (source: 'service' | 'store' | 'queue') => (fields: Record<string, unknown>, message: string): void => {
    counts[source] += 1;
    const text = `${message} ${JSON.stringify(fields)} ${render(fields)}`;
    texts.push(text);
    for (const waiter of [...waiters]) {
      if (!waiter.pattern.test(text)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const walk = (error: unknown, seen: Set<unknown>): void => {
    if (typeof error !== 'object' || error === null) {
      texts.push(String(error));
      return;
    }
    if (seen.has(error)) return;
    seen.add(error);
    const { message, stack, cause, cleanupErrors, errors } = error as { message?: unknown; stack?: unknown; cause?: unknown; cleanupErrors?: unknown[]; errors?: unknown[] };
    texts.push(String(message), String(stack), render(error));
    const nested: (readonly ['cause' | 'cleanupErrors' | 'errors', unknown])[] = [
      ...(cause === undefined ? [] : [['cause', cause] as const]),
      ...(cleanupErrors ?? []).map((inner) => ['cleanupErrors', inner] as const),
      ...(errors ?? []).map((inner) => ['errors', inner] as const),
    ];
    for (const [kind, inner] of nested) {
      counts[kind] += 1;
      walk(inner, seen);
    }
  };
  const serviceLine = line('service');
  return {
    texts,
    counts,
    serviceLogger: { info: serviceLine, warn: serviceLine, error: serviceLine, debug: serviceLine } satisfies Logger,
    storeLogger: { warn: line('store'), error: line('store') } satisfies StoreLogger,
    queueLogger: { warn: line('queue'), debug: line('queue') } satisfies QueueLogger,
    error: (error: unknown): void => {
      counts.error += 1;
      walk(error, new Set());
    },
    warning: (warning: unknown): void => {
      counts.warning += 1;
      walk(warning, new Set());
    },
    /** Resolves once a logged line matches. */
    next: (pattern: RegExp): Promise<void> => new Promise((resolve) => waiters.push({ pattern, resolve })),
  };
}

let dir: string;
let savedKey: string | undefined;
beforeAll(requireBuild);
beforeEach(() => {
  dir = makeTempDir();
  savedKey = process.env.SAGE_ENCRYPTION_KEY;
  delete process.env.SAGE_ENCRYPTION_KEY;
});
afterEach(() => {
  if (savedKey !== undefined) process.env.SAGE_ENCRYPTION_KEY = savedKey;
  jest.restoreAllMocks();
  removeTempDir(dir);
});

describe('no secret in any log line, warning or error (part 6, NFR-4)', () => {
  test('the scanner finds a 16-character piece of a secret, and nothing shorter', () => {
    const secret = { label: 'key', value: 'f'.repeat(8) + '0123456789abcdef' + 'e'.repeat(8) };
    expect(findLeaks([`x ${secret.value.slice(6, 22)} y`], [secret])).toEqual(['key in capture #0']);
    expect(findLeaks([secret.value.slice(0, WINDOW - 1)], [secret])).toEqual([]);
  });

  test('in process, with capturing loggers on the service, the stores and the queue', async () => {
    const t = transcript();
    // The library's default reporters call process.emitWarning with an Error of jest's realm, which the
    // real one refuses; the spy captures what they emit (the child test below uses the real path).
    jest.spyOn(process, 'emitWarning').mockImplementation(((warning: unknown) => t.warning(warning)) as typeof process.emitWarning);
    const seam = faultySeam();
    const file = (name: string): string => path.join(dir, name);
    const queue = { logger: t.queueLogger, depthWarningThreshold: 1, waitWarningMs: 1, slowWaitMs: 0 };
    const service = new EncryptionService({ keyStoragePath: file('keys/key'), logger: t.serviceLogger, queue }, { fileSystem: seam.fileSystem });
    await service.initialize();
    expect(service.getHealthStatus().keySource).toBe('generated');
    const sessions = new PersistentSessionStore(service, file('sessions.enc'), { logger: t.storeLogger });
    const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600, saveDebounceMs: 1, maxSaveWaitMs: 1, logger: t.storeLogger }, service, file('tokens.enc'));
    const clients = new PersistentClientStore({ allowedRedirectUris: ['*'], logger: t.storeLogger }, service, file('clients.enc'));
    const ids = { sessions: [] as string[], tokens: [] as string[], clients: [] as string[] };
    const register = async (name: string) => {
      const { client } = await clients.registerClient({ client_name: `App ${MARK} ${name}`, redirect_uris: [`https://app.example/${MARK}`] });
      ids.clients.push(client!.client_id);
    };

    for (let i = 0; i < 3; i += 1) ids.sessions.push(sessions.createSession(`user-${MARK}-${i}`).sessionId);
    const first = await tokens.generateToken({ clientId: 'client-a', userId: `user-${MARK}`, scope: `scope-${MARK}` });
    ids.tokens.push(first, (await tokens.rotateToken(first, 'client-a'))!);
    await register('first');
    // Flushes, not shutdown(): shutdown closes the stores, and they are used below.
    await Promise.all([sessions.flush(), tokens.flush(), clients.flush()]);

    // Every fault in a background, a debounced and an awaited save.
    for (const [op, code] of FAULTS) {
      seam.arm(op, fsError(code, op));
      const background = t.next(/background save/);
      ids.sessions.push(sessions.createSession(`user-${MARK}-${code}`).sessionId);
      await background;
      seam.arm(op, fsError(code, op));
      const debounced = t.next(/debounced save/);
      ids.tokens.push(await tokens.generateToken({ clientId: 'client-a', userId: `user-${MARK}-${code}`, scope: 'openid' }));
      await debounced;
      seam.arm(op, fsError(code, op));
      await register(code).catch(t.error);
      await Promise.all([sessions.flush(), tokens.flush()]);
    }
    // A failed save whose cleanup fails too.
    seam.arm('rename', fsError('EXDEV', 'rename'));
    seam.arm('unlink', fsError('EBUSY', 'unlink'));
    await register('cleanup').catch(t.error);

    // Queue warnings and slow-wait lines: saves of plaintext wait behind a held lock.
    const waited = t.next(/has waited/);
    const gate = deferred();
    const held = service.withFileLock(file('sessions.enc'), () => gate.promise);
    const queued = [1, 2, 3].map((n) => service.encryptToFile(`${MARK} queued ${n}`, file('sessions.enc')));
    await waited;
    gate.resolve();
    await Promise.all([held, ...queued]);

    // Bad files, read by the service and loaded by the stores.
    const other = new EncryptionService({ encryptionKey: OTHER_SECRET, keyStoragePath: file('other-key'), logger: t.serviceLogger });
    await other.initialize();
    fs.writeFileSync(file('foreign.enc'), await other.encrypt(JSON.stringify({ version: 1, sessions: [{ sessionId: ids.sessions[0], userId: MARK }] })));
    fs.writeFileSync(file('newer.enc'), await service.encrypt(JSON.stringify({ version: 2, sessions: [{ sessionId: ids.sessions[1] }] })));
    fs.writeFileSync(file('shape.enc'), await service.encrypt(JSON.stringify({ version: 1, tokens: [{ token: ids.tokens[0], note: MARK }] })));
    const [salt, iv, tag, data] = fs.readFileSync(file('tokens.enc'), 'utf8').split(':');
    fs.writeFileSync(file('flipped.enc'), [salt, iv, tag, `${data!.slice(0, 10)}${data![10] === 'f' ? 'e' : 'f'}${data!.slice(11)}`].join(':'));
    fs.mkdirSync(file('dir.enc'));
    for (const name of ['foreign.enc', 'flipped.enc', 'dir.enc', 'newer.enc/x']) await service.decryptFromFile(file(name)).catch(t.error);
    await service.decrypt(`${'ab'.repeat(16)}:${MARK}:zz:${ids.tokens[0]}`).catch(t.error);
    await service.decrypt(`${salt}:${iv}:${tag}:${data!.slice(0, -4)}`).catch(t.error);
    const loadSessions = (name: string) => new PersistentSessionStore(service, file(name), { logger: t.storeLogger }).loadFromStorage();
    const loadTokens = (name: string) => new PersistentRefreshTokenStore({ expirySeconds: 60, logger: t.storeLogger }, service, file(name)).loadFromStorage();
    await loadSessions('foreign.enc').catch(t.error);
    await loadSessions('newer.enc').catch(t.error);
    await loadTokens('shape.enc');
    await loadTokens('flipped.enc').catch(t.error);
    await new PersistentClientStore({ allowedRedirectUris: [], logger: t.storeLogger }, service, file('dir.enc')).loadFromStorage().catch(t.error);
    await new PersistentClientStore({ allowedRedirectUris: [], logger: t.storeLogger }, service, file('newer.enc/x')).loadFromStorage().catch(t.error);

    // shutdown() and the signal handlers while a store cannot be written.
    seam.arm('write', fsError('ENOSPC', 'write'));
    const failed = t.next(/background save/);
    ids.sessions.push(sessions.createSession(`user-${MARK}-shutdown`).sessionId);
    await failed;
    const exited = deferred<number>();
    const uninstall = installShutdownHandlers([sessions, clients], service, { signals: ['SIGTERM'], exit: (code) => exited.resolve(code), logger: t.storeLogger });
    try {
      seam.arm('write', fsError('EIO', 'write'));
      const failedInBackground = t.next(/background save/);
      ids.sessions.push(sessions.createSession(`user-${MARK}-signal`).sessionId);
      await failedInBackground;
      seam.arm('write', fsError('EIO', 'write'));
      process.emit('SIGTERM', 'SIGTERM');
      expect(await exited.promise).toBe(1);
    } finally {
      uninstall();
    }
    // After the handler's: shutdown() closes the stores, so the failing one comes last but one.
    seam.arm('write', fsError('ENOSPC', 'write'));
    await shutdown([sessions, tokens, clients], service).catch(t.error);
    await shutdown([sessions, tokens, clients], service);

    // The default reporters: a generated-key warning, a file moved aside, a queue depth warning.
    const quiet = new EncryptionService({ keyStoragePath: file('quiet/key'), queue: { depthWarningThreshold: 1 } });
    await quiet.initialize();
    fs.writeFileSync(file('quiet/sessions.enc'), await quiet.encrypt(`${MARK} not JSON`));
    await new PersistentSessionStore(quiet, file('quiet/sessions.enc')).loadFromStorage();
    await Promise.all([1, 2, 3].map((n) => quiet.encryptToFile(`${MARK} quiet ${n}`, file('quiet/other.enc'))));

    const secrets = keysAndDerivedKeys(dir, [
      { label: 'generated key', value: fs.readFileSync(file('keys/key'), 'utf8').trim() },
      { label: 'default-reporter key', value: fs.readFileSync(file('quiet/key'), 'utf8').trim() },
      { label: 'other key', value: OTHER_SECRET },
    ]);
    // Three secrets, each with its own instance salt plus the others found on disk: 3 x 3 derived keys, 2 encodings.
    expect(secrets.length).toBeGreaterThanOrEqual(3 + 3 * 3 * 2);
    // The derivation matches the service's: its cached key is among the secrets.
    expect([opens(file('sessions.enc'), secrets), opens(file('quiet/other.enc'), secrets)]).toEqual([true, true]);
    const all = [
      ...secrets,
      ...ids.sessions.map((value) => ({ label: 'session id', value })),
      ...ids.tokens.map((value) => ({ label: 'token', value })),
      ...ids.clients.map((value) => ({ label: 'client id', value })),
      { label: 'plaintext', value: MARK },
    ];
    expect([ids.sessions.length, ids.tokens.length, ids.clients.length]).toEqual([10, 7, 1]);
    expect(shortfalls(t.counts, { service: 3, store: 15, queue: 4, warning: 3, error: 16, cause: 1, cleanupErrors: 1, errors: 1 })).toEqual([]);
    expect(findLeaks(t.texts, all)).toEqual([]);
  });

  test('in a child process with the default reporters: process.on(\'warning\'), Node\'s stderr output and NODE_DEBUG lines', async () => {
    const exit = await runFixture('reliability-secrets.mjs', [dir], {
      timeoutMs: 20_000,
      env: { NODE_DEBUG: 'session-store-mutex', SAGE_ENCRYPTION_KEY: undefined },
    });
    expect({ code: exit.code, signal: exit.signal, isTimedOut: exit.isTimedOut }).toEqual({ code: 0, signal: null, isTimedOut: false });
    const lines = exit.stdout.trim().split('\n');
    const last = lines.pop()!;
    expect(last).toMatch(/^secrets /);
    const ids = JSON.parse(last.slice('secrets '.length)) as { sessionIds: string[]; tokens: string[]; clientIds: string[] };
    const warnings = lines.filter((line) => line.startsWith('warning ')).map((line) => (JSON.parse(line.slice('warning '.length)) as { name: string }).name);
    const stderr = exit.stderr.split('\n');
    expect(shortfalls(
      {
        serviceWarnings: warnings.filter((name) => name === 'EncryptionServiceWarning').length,
        storeWarnings: warnings.filter((name) => name === 'PersistentStoreWarning').length,
        queueWarnings: warnings.filter((name) => name === 'SerialQueueWarning').length,
        errors: lines.filter((line) => line.startsWith('error ')).length,
        debugLines: stderr.filter((line) => line.startsWith('SESSION-STORE-MUTEX')).length,
        printedWarnings: stderr.filter((line) => /^\(node:\d+\) /.test(line)).length,
      },
      { serviceWarnings: 1, storeWarnings: 5, queueWarnings: 2, errors: 5, debugLines: 4, printedWarnings: 8 },
    )).toEqual([]);
    const secrets = keysAndDerivedKeys(dir, [
      { label: 'generated key', value: fs.readFileSync(path.join(dir, 'keys', 'key'), 'utf8').trim() },
      { label: 'other key', value: OTHER_SECRET },
    ]);
    expect(secrets.length).toBeGreaterThanOrEqual(2 + 2 * 2 * 2);
    // sessions.enc ends moved aside (the fixture's queued encryptToFile calls left a non-store file) and its last save fails.
    expect(opens(path.join(dir, 'tokens.enc'), secrets)).toBe(true);
    const all = [
      ...secrets,
      ...ids.sessionIds.map((value) => ({ label: 'session id', value })),
      ...ids.tokens.map((value) => ({ label: 'token', value })),
      ...ids.clientIds.map((value) => ({ label: 'client id', value })),
      { label: 'plaintext', value: MARK },
    ];
    expect([ids.sessionIds.length, ids.tokens.length, ids.clientIds.length]).toEqual([5, 3, 1]);
    expect(findLeaks([...lines, ...stderr], all)).toEqual([]);
  });

  // process.emitWarning delivers on the next tick: a process.exit in the
  // same tick would swallow the one line that says why the shutdown failed.
  test('a failed graceful shutdown with the default logger reports its warning before the process exits', async () => {
    const exit = await runFixture('reliability-secrets.mjs', [dir, 'shutdown'], { timeoutMs: 10_000 });
    expect({ code: exit.code, isTimedOut: exit.isTimedOut }).toEqual({ code: 1, isTimedOut: false });
    expect(exit.stdout).toMatch(/^warning .*"name":"PersistentStoreWarning".*ERR_STORE_FLUSH/m);
    expect(exit.stderr).toMatch(/PersistentStoreWarning: graceful shutdown could not put every store on disk/);
  });
});
