/**
 * The public option and report types of the EncryptionService, apart from
 * the class so the class file reads as behaviour only.
 */
import type { DeriveKey } from './crypto-format.js';
import type { FileSystem } from '../files/fs-seam.js';
import type { KeySource } from './key-source.js';
import type { SerialQueueOptions } from '../queue/serial-queue.js';
import type { Logger } from './service-logger.js';

/** Options of an {@link EncryptionService}. Every field is optional. */
export interface EncryptionServiceConfig {
  /** The secret. Precedence: this, then `SAGE_ENCRYPTION_KEY` (read at `initialize()`), then the key file. */
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

/** Counters of the per-file locks. */
export interface FileMutexMetrics {
  /** Files with an operation running or queued. */
  activeFiles: number;
  /** Operations running or queued, all files. */
  pending: number;
  totalWaitTimeMs: number;
  longestWaitMs: number;
  queueDepthWarnings: number;
  waitWarnings: number;
}

/** What {@link EncryptionService.getHealthStatus} reports. */
export interface EncryptionHealthStatus {
  initialized: boolean;
  /** Before `initialize()`, the source it would try first ('file' standing for file-or-generated). */
  keySource: KeySource;
  keyStoragePath: string;
  mutex: FileMutexMetrics;
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
