import { emitNamedWarning } from '../support/logger.js';
import { errorCode } from '../files/fs-seam.js';

/**
 * Where the stores report what they cannot throw: background save failures
 * and files moved aside. Pino-compatible (fields first, message second), so
 * the logger given to the EncryptionService fits here too. Fields never hold
 * session ids, tokens or user data (NFR-4).
 */
export interface StoreLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** The name every default-logger warning carries, like Node's `MaxListenersExceededWarning`. */
export const STORE_WARNING_NAME = 'PersistentStoreWarning';

/**
 * The logger used when none is given: both levels go through
 * `process.emitWarning` as an Error named `PersistentStoreWarning` whose own
 * properties are the structured fields, so `process.on('warning')` can read them.
 */
export function createDefaultStoreLogger(): StoreLogger {
  const emit = (fields: Record<string, unknown>, message: string): void => emitNamedWarning(STORE_WARNING_NAME, fields, message);
  return { warn: emit, error: emit };
}

/** Describes a failure for a log line: its code and message, never a stack or a payload. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { code: errorCode(error), error: error.message };
  }
  return { error: String(error) };
}

/** Calls the logger; a throwing logger must never break a save or a load. */
export function safeLog(logger: StoreLogger, level: keyof StoreLogger, fields: Record<string, unknown>, message: string): void {
  try {
    logger[level](fields, message);
  } catch {
    // The store's state matters more than the line.
  }
}
