import { debuglog, inspect, type DebugLogger } from 'node:util';

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
 * Emits a process warning like Node's own `MaxListenersExceededWarning`: an
 * Error with this `name` whose own properties are the structured fields, so
 * `process.on('warning')` listeners can read them.
 */
export function emitNamedWarning(name: string, fields: Record<string, unknown>, message: string): void {
  const warning = Object.assign(new Error(message), fields);
  warning.name = name;
  process.emitWarning(warning);
}

/** A debug-line writer for `NODE_DEBUG=session-store-mutex`, resolved on first use, not at import. */
export function createDebugLine(): (fields: Record<string, unknown>, message: string) => void {
  let debugLine: DebugLogger | undefined;
  return (fields, message) => {
    debugLine ??= debuglog(DEBUG_SECTION);
    // The fields are rendered only for a line that is shown.
    if (debugLine.enabled) debugLine('%s %s', message, fieldsText(fields));
  };
}

/**
 * The fields as JSON, or, where JSON cannot render them (a BigInt, a `toJSON`
 * that throws, a cycle), as `util.inspect` shows them: the line keeps every
 * field either way.
 */
function fieldsText(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields);
  } catch {
    return inspect(fields, { breakLength: Infinity, depth: 2 });
  }
}

/**
 * The logger used when none is given: warnings through `process.emitWarning`
 * named `SerialQueueWarning`, debug lines through `util.debuglog` (shown with
 * `NODE_DEBUG=session-store-mutex`).
 */
export function createDefaultLogger(): QueueLogger {
  return { warn: (fields, message) => emitNamedWarning(WARNING_NAME, fields, message), debug: createDebugLine() };
}
