/**
 * Tools of the writers.*.test.ts suites (issues 9 and 15): black-box
 * acceptance tests of many writers on one set of store files. Everything here
 * goes through the public barrel (lib/index.ts) or the built package (the
 * child fixture), never a store's internals, so the suites judge whatever
 * engine sits behind the stores' API.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService, PersistentClientStore, PersistentRefreshTokenStore, PersistentSessionStore } from '../../lib/index.js';
import type { StoreLogger } from '../../lib/index.js';

export const WRITERS_KEY = 'writers-test-key-0123456789abcdef';
export const REDIRECT = 'https://app.example/callback';
export const CLIENT_ID = 'client-a';
/**
 * A debounce no test outlives: a token change reaches disk only through an
 * explicit flush or a transaction (rotate, revoke), never through a timer
 * that happens to fire, so "it is on disk" can only come from the code under
 * test. The timers are unref'd by the store and cancelled by every flush.
 */
export const NEVER_BY_TIMER = { saveDebounceMs: 3_600_000, maxSaveWaitMs: 3_600_000 } as const;

export type StoreKind = 'sessions' | 'tokens' | 'clients';

export { makeTempDir, removeTempDir } from './common.js';

/** The three store files in `dir`, with the original file names. */
export function storeFile(dir: string, kind: StoreKind): string {
  const names = { sessions: 'oauth_sessions.enc', tokens: 'oauth_refresh_tokens.enc', clients: 'oauth_clients.enc' } as const;
  return path.join(dir, names[kind]);
}

const silentServiceLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** An initialised EncryptionService on `dir` with the shared test key (a second call gives a second, independent instance). */
export async function openService(dir: string): Promise<EncryptionService> {
  const service = new EncryptionService({ encryptionKey: WRITERS_KEY, keyStoragePath: path.join(dir, 'key'), durable: false, logger: silentServiceLogger });
  await service.initialize();
  return service;
}

export interface LogEntry {
  readonly level: 'warn' | 'error';
  readonly message: string;
}

/** A StoreLogger that keeps every call: a moved-aside or failed save shows up here. */
export function recordingLogger(): StoreLogger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    warn: (_fields, message) => void entries.push({ level: 'warn', message }),
    error: (_fields, message) => void entries.push({ level: 'error', message }),
  };
}

export interface Stores {
  readonly service: EncryptionService;
  readonly sessions: PersistentSessionStore;
  readonly tokens: PersistentRefreshTokenStore;
  readonly clients: PersistentClientStore;
  readonly logger: ReturnType<typeof recordingLogger>;
}

export interface StoresOptions {
  /** Call loadFromStorage() on each store. Default true. */
  readonly load?: boolean;
  /** Default 100,000 (no eviction in these suites); pass undefined through `defaultMaxSessions` for the store's own default. */
  readonly maxSessions?: number;
  readonly defaultMaxSessions?: boolean;
}

/** One store of each kind on `dir`'s files through `service`. */
export async function createStores(service: EncryptionService, dir: string, options: StoresOptions = {}): Promise<Stores> {
  const logger = recordingLogger();
  const sessionOptions = options.defaultMaxSessions === true ? { logger } : { logger, maxSessions: options.maxSessions ?? 100_000 };
  const stores: Stores = {
    service,
    logger,
    sessions: new PersistentSessionStore(service, storeFile(dir, 'sessions'), sessionOptions),
    tokens: new PersistentRefreshTokenStore({ expirySeconds: 3600, ...NEVER_BY_TIMER, logger }, service, storeFile(dir, 'tokens')),
    clients: new PersistentClientStore({ allowedRedirectUris: [REDIRECT], logger }, service, storeFile(dir, 'clients')),
  };
  if (options.load !== false) {
    await Promise.all([stores.sessions.loadFromStorage(), stores.tokens.loadFromStorage(), stores.clients.loadFromStorage()]);
  }
  return stores;
}

/** A restart: a new EncryptionService and new stores that load the files. */
export async function restart(dir: string, options: StoresOptions = {}): Promise<Stores> {
  return createStores(await openService(dir), dir, options);
}

export async function flushAll(stores: Stores): Promise<void> {
  await Promise.all([stores.sessions.flush(), stores.tokens.flush(), stores.clients.flush()]);
}

export async function closeAll(stores: Stores): Promise<void> {
  await Promise.all([stores.sessions.close(), stores.tokens.close(), stores.clients.close()]);
}

/** Registers a client with the test redirect URI and returns its id; fails the test when refused. */
export async function registerClient(stores: Pick<Stores, 'clients'>, name: string): Promise<string> {
  const result = await stores.clients.registerClient({ client_name: name, redirect_uris: [REDIRECT] });
  if (!result.success || result.client === undefined) throw new Error(`registration refused: ${result.error ?? '?'}`);
  return result.client.client_id;
}

/**
 * The ids in the store file ALONE, decrypted with a fresh service: no
 * journal or other side file is read. After a graceful close this is what
 * the original server would load (issue 15, downgrade).
 */
export async function snapshotIds(dir: string, kind: StoreKind): Promise<string[]> {
  const service = await openService(dir);
  const text = await service.decryptFromFile(storeFile(dir, kind));
  if (text === null) return [];
  const body = JSON.parse(text) as Record<string, unknown>;
  const field = { sessions: 'sessions', tokens: 'tokens', clients: 'clients' }[kind];
  const idField = { sessions: 'sessionId', tokens: 'token', clients: 'client_id' }[kind];
  const records = body[field];
  if (!Array.isArray(records)) throw new Error(`${kind}: the file has no ${field} array`);
  return records.map((record) => String((record as Record<string, unknown>)[idField]));
}

/** Sorted copy, for set comparisons that print readable diffs. */
export const sorted = (values: Iterable<string>): string[] => [...values].sort();

// ---- child processes ---------------------------------------------------------

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'writers-worker.mjs');
const DIST = path.join(__dirname, '..', '..', 'dist', 'index.js');

/** Fails fast, with the remedy, when dist/ has not been built. */
export function requireBuild(): void {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
}

export interface WorkerMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface Worker {
  readonly child: ChildProcess;
  send(message: WorkerMessage): void;
  /** The next message of this type (buffered: a message that came before the call is not lost). */
  next<T extends WorkerMessage = WorkerMessage>(type: string): Promise<T>;
  /** Settles once the child has exited; `isTimedOut` when the harness SIGKILLed it. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; isTimedOut: boolean; stderr: string }>;
}

/**
 * Forks the writers fixture with IPC (messages synchronise parent and
 * children; no sleeps); SIGKILLs it after `timeoutMs`, and a pending `next()`
 * then rejects with the child's stderr, so a hung or crashed child fails the
 * test with a reason instead of hanging it.
 */
export function forkWorker(args: readonly string[], timeoutMs: number): Worker {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_DEBUG;
  const child = fork(FIXTURE, [...args], { execArgv: [], env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const inbox: WorkerMessage[] = [];
  const waiters: { type: string; resolve: (message: WorkerMessage) => void; reject: (error: Error) => void }[] = [];
  let exited: Error | undefined;
  let isTimedOut = false;
  const limit = setTimeout(() => {
    isTimedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  child.on('message', (message: WorkerMessage) => {
    const index = waiters.findIndex((waiter) => waiter.type === message.type);
    if (index === -1) {
      inbox.push(message);
      return;
    }
    const [waiter] = waiters.splice(index, 1);
    waiter!.resolve(message);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; isTimedOut: boolean; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      exited = new Error(`worker ${args.join(' ')} exited (code ${code}, signal ${signal}${isTimedOut ? ', timed out' : ''}) before sending the message; stderr: ${stderr.slice(-2000)}`);
      for (const waiter of waiters.splice(0)) waiter.reject(exited);
      resolve({ code, signal, isTimedOut, stderr });
    });
  });
  return {
    child,
    exit,
    send: (message) => void child.send(message),
    next: <T extends WorkerMessage>(type: string) => {
      const index = inbox.findIndex((message) => message.type === type);
      if (index !== -1) return Promise.resolve(inbox.splice(index, 1)[0] as T);
      if (exited !== undefined) return Promise.reject(exited);
      return new Promise<T>((resolve, reject) => waiters.push({ type, resolve: resolve as (message: WorkerMessage) => void, reject }));
    },
  };
}

let callIds = 0;

/** Runs one call in a `serve` worker and returns its value; rejects with the child's error code and message. */
export async function call<T = unknown>(worker: Worker, op: string, args: Record<string, unknown> = {}): Promise<T> {
  const id = (callIds += 1);
  worker.send({ type: 'call', id, op, ...args });
  const answer = await worker.next<WorkerMessage & { id: number; value?: T; error?: { code: string; message: string } }>('result');
  if (answer.id !== id) throw new Error(`worker answered call ${answer.id}, expected ${id}: one call at a time per worker`);
  if (answer.error !== undefined) throw Object.assign(new Error(`${op} failed in the worker: ${answer.error.message}`), { code: answer.error.code });
  return answer.value as T;
}

/** Ends `serve`/`rotate` workers and returns what each reported. */
export async function endWorkers(workers: readonly Worker[]): Promise<{ failures: unknown[]; warnings: string[] }[]> {
  for (const worker of workers) worker.send({ type: 'end' });
  const ended = await Promise.all(workers.map((worker) => worker.next<WorkerMessage & { failures: unknown[]; warnings: string[] }>('ended')));
  await Promise.all(workers.map((worker) => worker.exit));
  return ended.map(({ failures, warnings }) => ({ failures, warnings }));
}
