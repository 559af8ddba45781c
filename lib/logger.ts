import { debuglog, type DebugLogger } from 'node:util';

/** A pino-compatible logger: structured fields first, message second. */
export interface QueueLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** The package name doubles as the `NODE_DEBUG` section for debug lines. */
export const DEBUG_SECTION = 'session-store-mutex';

/** The name every default-logger warning carries, like Node's `MaxListenersExceededWarning`. */
export const WARNING_NAME = 'SerialQueueWarning';

/**
 * The logger used when none is given: warnings go through
 * `process.emitWarning` as an Error named `SerialQueueWarning` whose own
 * properties are the structured fields (so `process.on('warning')` listeners
 * can read `key`, `depth`, `waitedMs`); debug lines go through
 * `util.debuglog` and show with `NODE_DEBUG=session-store-mutex`.
 */
export function createDefaultLogger(): QueueLogger {
  // Resolved on first use: debuglog reads NODE_DEBUG then, not at import.
  let debugLine: DebugLogger | undefined;
  return {
    warn(fields, message) {
      const warning = Object.assign(new Error(message), fields);
      warning.name = WARNING_NAME;
      process.emitWarning(warning);
    },
    debug(fields, message) {
      debugLine ??= debuglog(DEBUG_SECTION);
      debugLine('%s %j', message, fields);
    },
  };
}
