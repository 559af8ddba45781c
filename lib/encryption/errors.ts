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

  constructor(reason: string, options: { filePath?: string; cause?: unknown } = {}) {
    const { filePath, cause } = options;
    super(`cannot decrypt ${filePath === undefined ? 'payload' : JSON.stringify(filePath)}: ${reason}`, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.filePath = filePath;
  }

  /** The same failure, naming the file the payload was read from. */
  withFilePath(filePath: string): DecryptionError {
    return new DecryptionError(this.reason, { filePath, cause: this.cause });
  }
}

/** A crypto method was called before `initialize()` had resolved. */
export class NotInitializedError extends Error {
  override readonly name = 'NotInitializedError';
  readonly code = 'ERR_NOT_INITIALIZED' as const;

  constructor(method: string) {
    super(`${method}() was called before initialize() resolved; await initialize() first`);
  }
}

/**
 * The key file exists but holds no usable key (it is empty). The service
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
