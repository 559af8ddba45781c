/**
 * The EncryptionService's logger: pino-compatible, and when none is given, a
 * default that stays silent unless asked, like Node itself.
 */
import { createDebugLine, emitNamedWarning, type QueueLogger } from '../support/logger.js';

/** A pino-compatible logger: structured fields first, message second. */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** The name of every warning the default logger emits. */
export const SERVICE_WARNING_NAME = 'EncryptionServiceWarning';

/**
 * The default: warn and error go through `process.emitWarning` as an Error
 * named `EncryptionServiceWarning` carrying the fields as own properties;
 * info and debug go through `util.debuglog` (`NODE_DEBUG=session-store-mutex`).
 */
export function createServiceLogger(): Logger {
  const warn = (fields: Record<string, unknown>, message: string): void => emitNamedWarning(SERVICE_WARNING_NAME, fields, message);
  const debug = createDebugLine();
  return { info: debug, warn, error: warn, debug };
}

/**
 * Wraps a logger so that a throwing logger never fails an operation: a lost
 * line matters less than a lost save.
 */
export function guardLogger(logger: Logger): Logger {
  const guard = (level: keyof Logger) => (fields: Record<string, unknown>, message: string): void => {
    try {
      logger[level](fields, message);
    } catch {
      // Deliberately swallowed; see above.
    }
  };
  return { info: guard('info'), warn: guard('warn'), error: guard('error'), debug: guard('debug') };
}

/** The queue's view of a service logger. */
export function toQueueLogger(logger: Logger): QueueLogger {
  return { warn: (fields, message) => logger.warn(fields, message), debug: (fields, message) => logger.debug(fields, message) };
}
