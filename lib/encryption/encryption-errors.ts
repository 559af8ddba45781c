/**
 * The encryption layer's typed errors. Callers branch on `code`, never on
 * message text, and no message carries plaintext, keys or tokens (NFR-4).
 */

/**
 * A payload could not be decrypted: it is malformed (wrong part count, not
 * hex, wrong lengths, empty), was tampered with, or was written under another
 * key. The message says which check failed and names the file; it never
 * carries the payload, the plaintext or any key (NFR-4).
 */
export class DecryptionError extends Error {
  override readonly name = 'DecryptionError';
  readonly code = 'ERR_DECRYPT' as const;
  /** Which check failed, e.g. "expected 4 parts, got 3"; never any content. */
  readonly reason: string;
  /** The file the payload came from; undefined for `decrypt(payload)`. */
  readonly filePath: string | undefined;
  /**
   * True when the payload is well formed but does not authenticate: written
   * under another key, or altered. False when it is not a payload at all.
   */
  readonly isAuthenticationFailure: boolean;

  constructor(reason: string, options: { filePath?: string; cause?: unknown; isAuthenticationFailure?: boolean } = {}) {
    const { filePath, cause } = options;
    // Starts with the original service's text, which callers matched on.
    super(`Failed to decrypt data (${filePath === undefined ? 'payload' : JSON.stringify(filePath)}): ${reason}`, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.filePath = filePath;
    this.isAuthenticationFailure = options.isAuthenticationFailure === true;
  }

  /** The same failure, naming the file the payload was read from. */
  withFilePath(filePath: string): DecryptionError {
    return new DecryptionError(this.reason, { filePath, cause: this.cause, isAuthenticationFailure: this.isAuthenticationFailure });
  }
}

/** The text the original service's not-initialised error carried; callers matched on it. */
export const NOT_INITIALIZED_MESSAGE = 'EncryptionService not initialized. Call initialize() first.';

/**
 * A crypto method was called before `initialize()` had resolved. The message
 * starts with the original service's text, so callers that matched on it
 * still do, and then names the method.
 */
export class NotInitializedError extends Error {
  override readonly name = 'NotInitializedError';
  readonly code = 'ERR_NOT_INITIALIZED' as const;

  constructor(method: string) {
    super(`${NOT_INITIALIZED_MESSAGE} (${method}() was called before initialize() resolved)`);
  }
}

/**
 * `config.encryptionKey` differs from the key the environment variable or the
 * key file already holds. That key encrypted the existing files, so it wins;
 * the service refuses to start rather than write under a second key (and
 * never moves files aside for it). Neither key is in the message.
 */
export class KeyMismatchError extends Error {
  override readonly name = 'KeyMismatchError';
  readonly code = 'ERR_KEY_MISMATCH' as const;
  /** Which existing key the config key disagrees with. */
  readonly keySource: 'environment' | 'file';
  /** The key file's path. */
  readonly keyStoragePath: string;

  constructor(keySource: 'environment' | 'file', keyStoragePath: string) {
    const where = keySource === 'environment' ? 'the SAGE_ENCRYPTION_KEY environment variable' : `key file ${JSON.stringify(keyStoragePath)}`;
    super(`config.encryptionKey differs from the key in ${where}, which takes precedence; remove config.encryptionKey or make it equal`);
    this.keySource = keySource;
    this.keyStoragePath = keyStoragePath;
  }
}

/**
 * The key file exists but holds no usable key (it is empty, or a symlink to
 * nothing), or vanished while another process published it. The service
 * refuses to replace it: files encrypted under the lost key would become
 * unreadable without anyone being told.
 */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
  readonly code = 'ERR_KEY_FILE' as const;
  /** The key file's path. */
  readonly keyStoragePath: string;

  constructor(keyStoragePath: string, problem: string) {
    super(`key file ${JSON.stringify(keyStoragePath)} ${problem}`);
    this.keyStoragePath = keyStoragePath;
  }
}
