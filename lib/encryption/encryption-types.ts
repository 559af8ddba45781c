/**
 * The public option and report types of the EncryptionService, apart from
 * the class so the class file reads as behaviour only.
 */
import type { DeriveKey } from './crypto-format.js';
import type { FileMutexMetrics } from '../files/file-mutex.js';
import type { FileSystem } from '../files/fs-seam.js';
import type { KeySource } from './key-source.js';
import type { SerialQueueOptions } from '../queue/serial-queue.js';
import type { Logger } from './service-logger.js';

/** Options of an {@link EncryptionService}. Every field is optional. */
export interface EncryptionServiceConfig {
  /**
   * Used only where the original would generate a key: when neither
   * `SAGE_ENCRYPTION_KEY` (read at `initialize()`) nor the key file holds one,
   * this key is used instead of a new random one (and not written anywhere:
   * keep passing it, or data written under it cannot be read). When it
   * differs from the variable's or the file's key, `initialize()` rejects
   * with KeyMismatchError (`ERR_KEY_MISMATCH`).
   */
  encryptionKey?: string;
  /** The key file, read or (when absent) generated 0600 in a 0700 directory. Default `~/.sage/oauth_encryption_key`. */
  keyStoragePath?: string;
  /** Default: warn/error via `process.emitWarning`, info/debug via `NODE_DEBUG=session-store-mutex`. */
  logger?: Logger;
  /** Thresholds of the per-file locks. Their logger defaults to `logger` (adapted). */
  queue?: SerialQueueOptions;
  /** fsync each written file and its directory. Default true; false trades crash safety for speed. */
  durable?: boolean;
}

export type { FileMutexMetrics } from '../files/file-mutex.js';

/** The service's lock counters: the original four and two more. */
export interface ServiceMutexMetrics extends FileMutexMetrics {
  /** Operations running or queued, all files. */
  pending: number;
  /** How many waits passed the wait-time threshold. */
  waitWarnings: number;
}

/** What {@link EncryptionService.getHealthStatus} reports. */
export interface EncryptionHealthStatus {
  initialized: boolean;
  /**
   * 'environment', 'file' or 'generated', as the original reported. Before
   * `initialize()`, the source it would try first ('file' standing for
   * file-or-generated). A config key reports 'generated': it stands where
   * the original generated one.
   */
  keySource: KeySource;
  keyStoragePath: string;
  mutex: ServiceMutexMetrics;
}

/**
 * Replacements for one instance's file system or key derivation: the
 * fault-injection seam for tests and benchmarks. Production code passes none.
 */
export interface EncryptionServiceSeam {
  /** Functions replacing their `nodeFileSystem` counterparts. */
  fileSystem?: Partial<FileSystem>;
  /** Replaces scrypt (e.g. to count derivations). */
  deriveKey?: DeriveKey;
}
