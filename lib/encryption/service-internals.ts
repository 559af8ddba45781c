/**
 * What the persistent stores need from an EncryptionService beyond its
 * public API: the file-system seam, derived keys usable synchronously (the
 * original `getSession` is synchronous and must still read fresh), and the
 * per-file queue with the canonical path. Reached through a method keyed by
 * a module-private symbol that lib/index.ts never exports, so the public
 * surface stays the original one.
 */
import type { FileSystem } from '../files/fs-seam.js';
import type { KeyedCodec } from './keyed-codec.js';

/** The key of the internal accessor method; package-internal. */
export const SERVICE_INTERNALS: unique symbol = Symbol('session-store-mutex.service-internals');

/** The package-internal face of an initialised EncryptionService. */
export interface ServiceInternals {
  /** The service's file-system seam (faults injected by tests reach the stores too). */
  readonly fileSystem: Readonly<FileSystem>;
  /** Whether writes fsync (the service's `durable` option). */
  readonly isDurable: boolean;
  /** The codec under the service's own salt: its key is already derived. */
  activeCodec(): KeyedCodec;
  /** The codec for a salt, deriving its key on the thread pool once. */
  codec(saltHex: string): Promise<KeyedCodec>;
  /** The codec for a salt; a salt never seen costs one synchronous scrypt (tens of ms). */
  codecSync(saltHex: string): KeyedCodec;
  /** The cached codec for a salt, or undefined: never derives. */
  cachedCodec(saltHex: string): KeyedCodec | undefined;
  /** Runs `task` in the file's in-process queue with the canonical path (same queue as withFileLock). */
  runLocked<T>(filePath: string, task: (canonical: string) => T | Promise<T>): Promise<T>;
  /** Removes crashed writers' temp files in `directory`, once per directory per service. */
  sweepOnce(directory: string): Promise<void>;
  /**
   * A 32-byte key for naming things (e.g. HMAC of Redis key names), derived
   * from the secret by HKDF-SHA-256 with a fixed salt and `label` as info:
   * the same on every host holding the secret, nothing to store or lose.
   */
  namingKey(label: string): Buffer;
}

/** Anything carrying the internal accessor: an EncryptionService. */
export interface HasServiceInternals {
  [SERVICE_INTERNALS](): ServiceInternals;
}

/** The internals of an initialised service; throws NotInitializedError (`ERR_NOT_INITIALIZED`) before `initialize()`. */
export function internalsOf(service: HasServiceInternals): ServiceInternals {
  return service[SERVICE_INTERNALS]();
}
