/**
 * Faults through the stores (issue 6, part 4; NFR-8): ENOSPC on write, EIO
 * on fsync, EPERM and EXDEV on rename and EMFILE on open, injected through
 * the service's file-system seam while a store saves. encryption-faults.test.ts
 * proves the same for encryptToFile itself; here the caller is a store's
 * flush, saveToStorage, registerClient or deleteClient, or shutdown(): it
 * gets the original error object with its code, the previous file stays
 * byte for byte, no temp file remains, and once the fault clears the next
 * save writes everything the failed one could not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { nodeFileSystem, type FileSystem } from '../lib/files/fs-seam.js';
import { PersistentClientStore, type OAuthClient } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore, type RefreshToken } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore, type UserSession } from '../lib/stores/session-store.js';
import { shutdown } from '../lib/stores/shutdown.js';
import { tempFilesIn } from './helpers/reliability-harness.js';
import { fsError, makeTempDir, readStoreFile, recordingStoreLogger, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

type Operation = keyof FileSystem;

const FAULTS: [Operation, string][] = [
  ['write', 'ENOSPC'],
  ['fsync', 'EIO'],
  ['rename', 'EPERM'],
  ['rename', 'EXDEV'],
  ['open', 'EMFILE'],
];

let dir: string;
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

/** A durable service whose `op` fails with one error object on every call while armed. */
async function faultyService(): Promise<{ service: EncryptionService; arm(op: Operation, error: Error): void; heal(): void }> {
  let fault: { op: Operation; error: Error } | undefined;
  const fileSystem = Object.fromEntries(
    (Object.keys(nodeFileSystem) as Operation[]).map((op) => {
      const real = nodeFileSystem[op] as (...args: unknown[]) => Promise<unknown>;
      return [op, (...args: unknown[]) => (fault?.op === op ? Promise.reject(fault.error) : real(...args))];
    }),
  ) as unknown as FileSystem;
  // durable (the default) so that fsync is on the path.
  const service = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key') }, { fileSystem });
  await service.initialize();
  return { service, arm: (op, error) => (fault = { op, error }), heal: () => (fault = undefined) };
}

const file = (name: string): string => path.join(dir, name);
const bytesOf = (name: string): Buffer => fs.readFileSync(file(name));
const redirect = { redirect_uris: ['https://app.example/cb'] };

async function records<T>(service: EncryptionService, name: string, field: string): Promise<T[]> {
  return (await readStoreFile(service, file(name)))![field] as T[];
}

describe.each(FAULTS)('%s fails with %s while a store saves (part 4, NFR-8)', (op, code) => {
  test('session store: flush() rejects with the original error, the background failure is logged, the file is kept, the next flush writes', async () => {
    const { service, arm, heal } = await faultyService();
    const logger = recordingStoreLogger();
    const sessions = new PersistentSessionStore(service, file('sessions.enc'), { logger });
    const kept = sessions.createSession('user-kept');
    await sessions.flush();
    const before = bytesOf('sessions.enc');
    const fault = fsError(code, op);
    arm(op, fault);
    const pending = sessions.createSession('user-pending');
    await expect(sessions.flush()).rejects.toBe(fault);
    expect(bytesOf('sessions.enc').equals(before)).toBe(true);
    expect(tempFilesIn(dir)).toEqual([]);
    expect(logger.entries).toEqual([{ level: 'error', fields: expect.objectContaining({ store: 'sessions', code }), message: expect.any(String) }]);
    heal();
    await sessions.flush();
    expect(await records<UserSession>(service, 'sessions.enc', 'sessions')).toEqual([kept, pending]);
    expect(tempFilesIn(dir)).toEqual([]);
  });

  test('refresh token store: flush() and saveToStorage() reject with the original error, the file is kept, the next flush writes', async () => {
    const { service, arm, heal } = await faultyService();
    const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: recordingStoreLogger() }, service, file('tokens.enc'));
    const kept = await tokens.generateToken({ clientId: 'client-a', userId: 'user-kept', scope: 'openid' });
    await tokens.flush();
    const before = bytesOf('tokens.enc');
    const fault = fsError(code, op);
    arm(op, fault);
    const pending = await tokens.generateToken({ clientId: 'client-a', userId: 'user-pending', scope: 'openid' });
    await expect(tokens.flush()).rejects.toBe(fault);
    await expect(tokens.saveToStorage()).rejects.toBe(fault);
    expect(bytesOf('tokens.enc').equals(before)).toBe(true);
    expect(tempFilesIn(dir)).toEqual([]);
    heal();
    await tokens.flush();
    expect((await records<RefreshToken>(service, 'tokens.enc', 'tokens')).map(({ token }) => token)).toEqual([kept, pending]);
  });

  test('client store: registerClient and deleteClient reject with the original error and are undone, the file is kept, the next registration writes', async () => {
    const { service, arm, heal } = await faultyService();
    const clients = new PersistentClientStore({ allowedRedirectUris: ['*'], logger: recordingStoreLogger() }, service, file('clients.enc'));
    const { client: kept } = await clients.registerClient({ client_name: 'Kept', ...redirect });
    const before = bytesOf('clients.enc');
    const fault = fsError(code, op);
    arm(op, fault);
    await expect(clients.registerClient({ client_name: 'Refused', ...redirect })).rejects.toBe(fault);
    expect(clients.getMetrics().count).toBe(1);
    await expect(clients.deleteClient(kept!.client_id)).rejects.toBe(fault);
    expect(await clients.getClient(kept!.client_id)).toEqual(kept);
    expect(bytesOf('clients.enc').equals(before)).toBe(true);
    expect(tempFilesIn(dir)).toEqual([]);
    heal();
    const { client: next } = await clients.registerClient({ client_name: 'Next', ...redirect });
    expect(await records<OAuthClient>(service, 'clients.enc', 'clients')).toEqual([kept, next]);
  });

  test('shutdown() rejects with ERR_STORE_FLUSH holding each store\'s original error; after the fault clears it puts everything on disk', async () => {
    const { service, arm, heal } = await faultyService();
    const logger = recordingStoreLogger();
    const sessions = new PersistentSessionStore(service, file('sessions.enc'), { logger });
    const tokens = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger }, service, file('tokens.enc'));
    sessions.createSession('user-kept');
    await tokens.generateToken({ clientId: 'client-a', userId: 'user-kept', scope: 'openid' });
    // flush, not shutdown: shutdown closes the stores, and this test changes them afterwards.
    await Promise.all([sessions.flush(), tokens.flush()]);
    const before = [bytesOf('sessions.enc'), bytesOf('tokens.enc')];
    const fault = fsError(code, op);
    arm(op, fault);
    sessions.createSession('user-pending');
    await tokens.generateToken({ clientId: 'client-a', userId: 'user-pending', scope: 'openid' });
    const failure = await shutdown([sessions, tokens], service).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'StoreFlushError', code: 'ERR_STORE_FLUSH' });
    expect((failure as AggregateError).errors).toHaveLength(2);
    for (const error of (failure as AggregateError).errors) expect(error).toBe(fault);
    expect(service.hasPendingWrites()).toBe(false);
    expect([bytesOf('sessions.enc'), bytesOf('tokens.enc')]).toEqual(before);
    expect(tempFilesIn(dir)).toEqual([]);
    heal();
    await shutdown([sessions, tokens], service);
    expect(await records(service, 'sessions.enc', 'sessions')).toHaveLength(2);
    expect(await records(service, 'tokens.enc', 'tokens')).toHaveLength(2);
  });
});
