import type { EncryptionService } from '../encryption/encryption-service.js';
import { ShutdownTimeoutError, StoreFlushError } from './store-errors.js';
import { createDefaultStoreLogger, describeError, safeLog, type StoreLogger } from './store-logger.js';

/** Anything with a `flush()` that resolves once its changes are on disk: the three stores. */
export interface FlushableStore {
  flush(): Promise<void>;
}

/**
 * Flushes every store (in parallel: different files never wait for each
 * other) and then waits for every pending write of the service (FR-4).
 * Resolves once everything is on disk; otherwise rejects with
 * StoreFlushError (`ERR_STORE_FLUSH`) holding each failed store's error,
 * after the other stores have finished.
 */
export async function shutdown(
  stores: readonly FlushableStore[],
  encryptionService: Pick<EncryptionService, 'waitForPendingWrites'>,
): Promise<void> {
  const outcomes = await Promise.allSettled(stores.map((store) => store.flush()));
  await encryptionService.waitForPendingWrites();
  const errors = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
  if (errors.length > 0) throw new StoreFlushError(errors, stores.length);
}

/** Options of {@link installShutdownHandlers}; every field is optional. */
export interface ShutdownHandlerOptions {
  /** The signals to handle. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  /** Ends the process. Default `process.exit`; tests pass a spy. */
  exit?: (code: number) => void;
  /** Give up and exit 1 after this long. Default 10000. */
  timeoutMs?: number;
  /** Where a failed shutdown is reported. Default: `process.emitWarning`. */
  logger?: StoreLogger;
}

/**
 * Runs {@link shutdown} on the first SIGTERM or SIGINT, then exits 0 when
 * everything is on disk and 1 when something is not (or the timeout passed).
 * Later signals during shutdown are ignored rather than killing the process
 * mid-write. Nothing is installed until this is called; the returned function
 * removes the handlers.
 *
 * Hazard: while installed, these signals no longer end the process by
 * themselves; call it once per process.
 */
export function installShutdownHandlers(
  stores: readonly FlushableStore[],
  encryptionService: Pick<EncryptionService, 'waitForPendingWrites'>,
  options: ShutdownHandlerOptions = {},
): () => void {
  const signals = [...(options.signals ?? ['SIGTERM', 'SIGINT'])];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const logger = options.logger ?? createDefaultStoreLogger();
  const storeList = [...stores];
  let isShuttingDown = false;

  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ShutdownTimeoutError(timeoutMs)), timeoutMs);
    });
    let code = 0;
    try {
      await Promise.race([shutdown(storeList, encryptionService), timeout]);
    } catch (error) {
      code = 1;
      const causes = error instanceof StoreFlushError ? { causes: error.errors.map(describeError) } : {};
      safeLog(logger, 'error', { signal, ...describeError(error), ...causes }, 'graceful shutdown could not put every store on disk');
    } finally {
      clearTimeout(timer);
    }
    // A macrotask later: process.emitWarning delivers on the next tick, and
    // an exit now would swallow the warning that says why the shutdown failed.
    setImmediate(() => exit(code));
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    // Later signals are ignored: the default action would kill the process mid-write.
    if (isShuttingDown) return;
    isShuttingDown = true;
    void stop(signal);
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
