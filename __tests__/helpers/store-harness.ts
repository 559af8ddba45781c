/**
 * Shared tools for the store suites: a temp directory per test, a fast
 * EncryptionService on it, fake timers that leave real I/O alone, a logger
 * that records, and a reader that decrypts a store file as it is on disk.
 */
import path from 'node:path';
import { EncryptionService } from '../../lib/encryption/encryption-service.js';
import type { EncryptionServiceSeam } from '../../lib/encryption/encryption-types.js';
import { nodeFileSystem } from '../../lib/files/fs-seam.js';
import type { StoreLogger } from '../../lib/stores/store-logger.js';

import { drain, fsError } from './common.js';

export { deferred, drain, fsError, makeTempDir, removeTempDir, track } from './common.js';

export const TEST_KEY = 'test-key-stores-0123456789abcdef';

/** An initialised service on `dir`; `durable: false` keeps the suites fast. */
export async function createService(dir: string, seam: EncryptionServiceSeam = {}): Promise<EncryptionService> {
  const service = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: path.join(dir, 'key'), durable: false }, seam);
  await service.initialize();
  return service;
}

/**
 * Fake timers for debounces and expiry; nextTick, setImmediate and
 * queueMicrotask stay real so file I/O and promise chains complete on their own.
 */
export function useFakeTimersWithRealIo(): void {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
}

export interface StoreLogEntry {
  readonly level: 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A StoreLogger that keeps every call. */
export function recordingStoreLogger(): StoreLogger & { readonly entries: StoreLogEntry[]; text(): string } {
  const entries: StoreLogEntry[] = [];
  return {
    entries,
    text: () => JSON.stringify(entries),
    warn: (fields, message) => void entries.push({ level: 'warn', fields: { ...fields }, message }),
    error: (fields, message) => void entries.push({ level: 'error', fields: { ...fields }, message }),
  };
}

/** The plaintext JSON of a store file as it is on disk, or null when there is none. */
export async function readStoreFile(service: EncryptionService, filePath: string): Promise<Record<string, unknown> | null> {
  const text = await service.decryptFromFile(filePath);
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
}

/** A seam whose file writes fail with `code` while `failWith(code)` is set; `failWith(undefined)` heals it. */
export function switchableWriteFault(): { readonly seam: EncryptionServiceSeam; failWith(code: string | undefined): void } {
  let failure: string | undefined;
  return {
    seam: {
      fileSystem: {
        write: async (handle, data) => {
          if (failure !== undefined) throw fsError(failure);
          await nodeFileSystem.write(handle, data);
        },
      },
    },
    failWith: (code) => void (failure = code),
  };
}

/**
 * Waits until background saves have settled: a save queued behind another is
 * handed to the service a few promise reactions after the first one's write,
 * so one idle moment of the service is not enough; a real macrotask turn
 * (drain) runs those reactions before looking again.
 */
export async function settleBackgroundSaves(service: EncryptionService): Promise<void> {
  do {
    await service.waitForPendingWrites();
    await drain();
  } while (service.hasPendingWrites());
}

/**
 * A seam that counts the store's durable writes of `filePath` (a whole file
 * published by rename, or a journal append) and the most of them in flight
 * at once (from opening the temp or journal to its rename or close). Store
 * saves no longer call the public encryptToFile (they write under the file's
 * lock, where encryptToFile would deadlock), so tests count at the seam.
 */
export function storeWriteCounter(filePath: string): { readonly seam: EncryptionServiceSeam; writes(): number; mostInFlight(): number } {
  const ours = (target: string): boolean => {
    const name = path.basename(target);
    const base = path.basename(filePath);
    return name === base || name === `${base}.journal` || new RegExp(`^${base.replace(/\./g, '\\.')}(\\.journal)?\\.\\d+\\.\\d+\\.[0-9a-f]{12}\\.tmp$`).test(name);
  };
  const appends = new Set<unknown>();
  let writes = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const begin = (): void => {
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
  };
  return {
    seam: {
      fileSystem: {
        open: async (target, flags, mode) => {
          const handle = await nodeFileSystem.open(target, flags, mode);
          if (ours(target) && (flags === 'wx' || flags === 'a')) begin();
          if (ours(target) && flags === 'a') appends.add(handle);
          return handle;
        },
        close: async (handle) => {
          await nodeFileSystem.close(handle);
          if (!appends.delete(handle)) return;
          writes += 1;
          inFlight -= 1;
        },
        rename: async (from, to) => {
          await nodeFileSystem.rename(from, to);
          if (!ours(to)) return;
          writes += 1;
          inFlight -= 1;
        },
      },
    },
    writes: () => writes,
    mostInFlight: () => mostInFlight,
  };
}
