/**
 * The drop-in EncryptionService: the original public API and file format,
 * with every file operation serialised per file and writes that survive
 * crashes (see the issue "EncryptionService: a drop-in with per-file locks").
 */
import { hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.js';
import { decryptWithKey, encryptWithKey, KEY_BYTES, parsePayload, SALT_BYTES, scryptKey, type DeriveKey } from './crypto-format.js';
import { KeyedCodec } from './keyed-codec.js';
import { SERVICE_INTERNALS, type ServiceInternals } from './service-internals.js';
import type { EncryptionHealthStatus, EncryptionServiceConfig, EncryptionServiceSeam, ServiceMutexMetrics } from './encryption-types.js';
import { DecryptionError, NotInitializedError } from './encryption-errors.js';
import { FileLocks } from '../files/file-locks.js';
import { createFileSystem, errorCode, type FileSystem } from '../files/fs-seam.js';
import { DerivedKeyCache } from './derived-key-cache.js';
import { predictKeySource, resolveKey, type KeySource } from './key-source.js';
import { createServiceLogger, guardLogger, toQueueLogger, type Logger } from './service-logger.js';
import { DirectorySweeper, type SweepOutcome } from '../files/temp-sweep.js';

/** Fixed HKDF salt of naming keys: every host must derive the same key from the same secret. */
const NAMING_KEY_SALT = 'session-store-mutex/naming-key/v1';
const NAMING_KEY_BYTES = 32;

/** The secret in use and the instance salt whose derived key encrypts every write. */
interface ActiveKey {
  readonly secret: string;
  readonly source: KeySource;
  readonly salt: Buffer;
  readonly saltHex: string;
  readonly key: Buffer;
}

/**
 * Encrypts to and from files with AES-256-GCM, one operation per file at a
 * time. Share one instance per process: locks are per instance.
 *
 * Hazard: calling `withFileLock`, `encryptToFile` or `decryptFromFile` on a
 * file from inside a `withFileLock` callback on the same file deadlocks, as
 * does awaiting `waitForPendingWrites()` there.
 */
export class EncryptionService {
  readonly #configKey: string | undefined;
  readonly #keyStoragePath: string;
  readonly #isDurable: boolean;
  readonly #logger: Logger;
  readonly #fs: Readonly<FileSystem>;
  readonly #deriveKey: DeriveKey;
  readonly #locks: FileLocks;
  readonly #sweeper: DirectorySweeper;
  readonly #derivedKeys = new DerivedKeyCache();
  /** Codecs by salt for the stores' synchronous reads; bounded like the derived keys. */
  readonly #codecs = new Map<string, KeyedCodec>();
  #internals: ServiceInternals | undefined;
  #active: ActiveKey | undefined;
  #activation: Promise<void> | undefined;

  constructor(config: EncryptionServiceConfig = {}, seam: EncryptionServiceSeam = {}) {
    this.#configKey = config.encryptionKey;
    this.#keyStoragePath = path.resolve(config.keyStoragePath ?? path.join(os.homedir(), '.sage', 'oauth_encryption_key'));
    this.#isDurable = config.durable ?? true;
    this.#logger = guardLogger(config.logger ?? createServiceLogger());
    this.#fs = createFileSystem(seam.fileSystem);
    this.#deriveKey = seam.deriveKey ?? scryptKey;
    const queueLogger = config.queue?.logger ?? (config.logger === undefined ? undefined : toQueueLogger(this.#logger));
    this.#locks = new FileLocks(this.#fs, { ...config.queue, logger: queueLogger });
    this.#sweeper = new DirectorySweeper(this.#fs, (directory, outcome) => this.#reportSweep(directory, outcome));
  }

  /** Resolves the secret and derives the instance key. Idempotent; concurrent calls share one run. */
  initialize(): Promise<void> {
    if (this.#active !== undefined) return Promise.resolve();
    this.#activation ??= this.#activate().finally(() => (this.#activation = undefined));
    return this.#activation;
  }

  /** Encrypts to a `salt:iv:authTag:ciphertext` payload under the instance salt (no scrypt). */
  async encrypt(plaintext: string): Promise<string> {
    const active = this.#require('encrypt');
    return encryptWithKey(plaintext, active.salt, active.key);
  }

  /** Decrypts a payload from this or the original service; rejects with DecryptionError. */
  async decrypt(payload: string): Promise<string> {
    return this.#decrypt(this.#require('decrypt'), payload);
  }

  /** Runs `fn` alone among operations on this file (every spelling of its path), in call order. */
  withFileLock<T>(filePath: string, fn: () => T | Promise<T>): Promise<T> {
    return this.#locks.run(filePath, () => fn());
  }

  /** Encrypts and replaces the file atomically and (by default) durably, under its lock. */
  async encryptToFile(plaintext: string, filePath: string): Promise<void> {
    const active = this.#require('encryptToFile');
    await this.#locks.run(filePath, async (target) => {
      await this.#sweeper.sweepOnce(path.dirname(target));
      const payload = encryptWithKey(plaintext, active.salt, active.key);
      await writeFileAtomic(this.#fs, target, Buffer.from(payload, 'utf8'), { durable: this.#isDurable });
    });
  }

  /**
   * Reads and decrypts the file under its lock. Resolves null only when the
   * file does not exist; a bad payload rejects with DecryptionError, a
   * file-system failure with its own `code`.
   */
  async decryptFromFile(filePath: string): Promise<string | null> {
    const active = this.#require('decryptFromFile');
    return this.#locks.run(filePath, async (source) => {
      let payload: string;
      try {
        payload = await this.#fs.readFile(source);
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return null;
        throw error;
      }
      try {
        return await this.#decrypt(active, payload);
      } catch (error) {
        throw error instanceof DecryptionError ? error.withFilePath(filePath) : error;
      }
    });
  }

  /** Resolves once no file operation is running or queued. Never await it inside a locked callback. */
  waitForPendingWrites(): Promise<void> {
    return this.#locks.onIdle();
  }

  /** Whether any file operation is running or queued. */
  hasPendingWrites(): boolean {
    return this.#locks.isBusy;
  }

  /** A snapshot of the per-file lock counters. */
  getMutexMetrics(): ServiceMutexMetrics {
    const { activeKeys, pending, totalWaitTimeMs, longestWaitMs, queueDepthWarnings, waitWarnings } = this.#locks.metrics();
    return { activeFiles: activeKeys, pending, totalWaitTimeMs, longestWaitMs, queueDepthWarnings, waitWarnings };
  }

  /** State for a health endpoint; carries no secret. */
  getHealthStatus(): EncryptionHealthStatus {
    return {
      initialized: this.#active !== undefined,
      keySource: this.#active?.source ?? predictKeySource(),
      keyStoragePath: this.#keyStoragePath,
      mutex: this.getMutexMetrics(),
    };
  }

  /** Whether `initialize()` has resolved. */
  isInitialized(): boolean {
    return this.#active !== undefined;
  }

  /** The absolute key file path (used unless `SAGE_ENCRYPTION_KEY` is set). */
  getKeyStoragePath(): string {
    return this.#keyStoragePath;
  }

  /** Package-internal: what the persistent stores need (see service-internals.ts). Not part of the public API. */
  [SERVICE_INTERNALS](): ServiceInternals {
    const active = this.#require('stores');
    this.#internals ??= {
      fileSystem: this.#fs,
      isDurable: this.#isDurable,
      activeCodec: () => this.#rememberCodec(new KeyedCodec(active.salt, active.key)),
      cachedCodec: (saltHex) => this.#codecs.get(saltHex),
      codec: async (saltHex) => {
        const cached = this.#codecs.get(saltHex);
        if (cached !== undefined) return cached;
        const saltBytes = Buffer.from(saltHex, 'hex');
        const key = await this.#derivedKeys.get(saltHex, () => this.#deriveKey(active.secret, saltBytes));
        return this.#rememberCodec(new KeyedCodec(saltBytes, key));
      },
      codecSync: (saltHex) => {
        const cached = this.#codecs.get(saltHex);
        if (cached !== undefined) return cached;
        const saltBytes = Buffer.from(saltHex, 'hex');
        // Node's default scrypt cost, as scryptKey uses: the same key, derived on this thread.
        return this.#rememberCodec(new KeyedCodec(saltBytes, scryptSync(active.secret, saltBytes, KEY_BYTES)));
      },
      runLocked: (filePath, task) => this.#locks.run(filePath, task),
      sweepOnce: (directory) => this.#sweeper.sweepOnce(directory),
      // HKDF, not scrypt under a random salt: the file key's derivation is untouched, and the label keeps each use apart.
      namingKey: (label) => Buffer.from(hkdfSync('sha256', Buffer.from(active.secret, 'utf8'), NAMING_KEY_SALT, `session-store-mutex/naming/${label}`, NAMING_KEY_BYTES)),
    };
    return this.#internals;
  }

  #rememberCodec(codec: KeyedCodec): KeyedCodec {
    const known = this.#codecs.get(codec.saltHex);
    if (known !== undefined) return known;
    this.#codecs.set(codec.saltHex, codec);
    if (this.#codecs.size > 64) {
      const oldest = this.#codecs.keys().next();
      if (oldest.done !== true) this.#codecs.delete(oldest.value);
    }
    return codec;
  }

  async #activate(): Promise<void> {
    const { secret, source, isConfigKey } = await resolveKey(this.#fs, this.#configKey, this.#keyStoragePath, (fields, message) => this.#logger.warn(fields, message));
    const salt = randomBytes(SALT_BYTES);
    const key = await this.#deriveKey(secret, salt);
    this.#active = { secret, source, salt, saltHex: salt.toString('hex'), key };
    const keyStoragePath = this.#keyStoragePath;
    // A config key is the caller's own: no key was made, and no key file holds it to back up.
    if (source === 'generated' && isConfigKey !== true) {
      this.#logger.warn({ keyStoragePath }, 'generated a new encryption key; back up the key file: data encrypted under it is lost without it');
    }
    this.#logger.info({ keySource: source, keyStoragePath }, 'encryption service initialized');
  }

  async #decrypt(active: ActiveKey, payload: string): Promise<string> {
    const parsed = parsePayload(payload);
    const saltHex = parsed.salt.toString('hex');
    const key = saltHex === active.saltHex ? active.key : await this.#derivedKeys.get(saltHex, () => this.#deriveKey(active.secret, parsed.salt));
    return decryptWithKey(parsed, key);
  }

  #reportSweep(directory: string, outcome: SweepOutcome): void {
    if ('error' in outcome) this.#logger.warn({ directory, code: errorCode(outcome.error) }, 'could not sweep leftover temp files');
    else if (outcome.removed.length > 0 || outcome.failed.length > 0) {
      this.#logger.info({ directory, removed: outcome.removed, failed: outcome.failed }, 'swept temp files of exited writers');
    }
  }

  #require(method: string): ActiveKey {
    if (this.#active === undefined) throw new NotInitializedError(method);
    return this.#active;
  }
}
