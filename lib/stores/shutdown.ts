import type { EncryptionService } from '../encryption/encryption-service.js';
import { DURATION_MS, numberOption } from '../support/options.js';
import { setLongTimeout } from '../support/timers.js';
import { ShutdownTimeoutError, StoreFlushError } from './store-errors.js';
import { createDefaultStoreLogger, describeError, safeLog, type StoreLogger } from './store-logger.js';

/**
 * What shutdown needs of a store: the three stores, or any object with a
 * `flush()` that resolves once its changes are on disk. `close()` and
 * `hasUnsavedChanges()` are used when present.
 */
export interface FlushableStore {
  flush(): Promise<void>;
  /** Refuses later changes (`ERR_STORE_CLOSED`), then saves what is pending. */
  close?(): Promise<void>;
  /** Whether some accepted change has not reached disk yet. */
  hasUnsavedChanges?(): boolean;
}

/** Options of {@link shutdown}. */
export interface ShutdownOptions {
  /** Give up with ShutdownTimeoutError after this many ms; Infinity waits as long as it takes. Default 10000. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Puts every store on disk and keeps it there (FR-4, issue 9 item 6):
 * closes each store that has `close()` (later changes reject or throw
 * StoreClosedError, `ERR_STORE_CLOSED`, instead of being acknowledged and
 * dropped) or flushes it, then flushes again each store that still reports
 * unsaved changes, until none does, and waits for every pending write of the
 * service. Stores run in parallel; there is no wait for an idle moment that
 * steady traffic never gives. Rejects with StoreFlushError (`ERR_STORE_FLUSH`)
 * holding each failed store's error, after the others have finished, or with
 * ShutdownTimeoutError (`ERR_SHUTDOWN_TIMEOUT`) once `timeoutMs` has passed.
 * Throws OptionRangeError (`ERR_OPTION_RANGE`) for a bad `timeoutMs`.
 */
export function shutdown(
  stores: readonly FlushableStore[],
  encryptionService: Pick<EncryptionService, 'waitForPendingWrites'>,
  options: ShutdownOptions = {},
): Promise<void> {
  let timeoutMs: number;
  try {
    timeoutMs = numberOption('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, DURATION_MS);
  } catch (error) {
    return Promise.reject(error);
  }
  const storeList = [...stores];
  const run = { isOver: false };
  let timer: { cancel(): void } | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setLongTimeout(() => reject(new ShutdownTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([putOnDisk(storeList, encryptionService, run), timeout]).finally(() => {
    // Ends the flush loop too: a store that never gets clean must not be flushed forever after the timeout.
    run.isOver = true;
    timer?.cancel();
  });
}

async function putOnDisk(
  stores: readonly FlushableStore[],
  service: Pick<EncryptionService, 'waitForPendingWrites'>,
  run: { readonly isOver: boolean },
): Promise<void> {
  const failures = new Map<FlushableStore, unknown>();
  const settle = async (pass: readonly FlushableStore[], save: (store: FlushableStore) => Promise<void>): Promise<void> => {
    const outcomes = await Promise.allSettled(pass.map((store) => save(store)));
    outcomes.forEach((outcome, index) => {
      if (outcome.status === 'rejected') failures.set(pass[index]!, outcome.reason);
    });
  };
  // Closing first means nothing new is accepted, so this usually ends after one pass.
  await settle(stores, (store) => (store.close === undefined ? store.flush() : store.close()));
  while (!run.isOver) {
    // A store whose save failed is reported, not retried in a tight loop.
    const dirty = stores.filter((store) => !failures.has(store) && store.hasUnsavedChanges?.() === true);
    if (dirty.length === 0) break;
    // A macrotask between passes, so a store that stays dirty cannot starve the timeout's timer.
    await new Promise((resolve) => setImmediate(resolve));
    await settle(dirty, (store) => store.flush());
  }
  await service.waitForPendingWrites();
  if (failures.size > 0) throw new StoreFlushError([...failures.values()], stores.length);
}

/** Options of {@link installShutdownHandlers}; every field is optional. */
export interface ShutdownHandlerOptions {
  /** The signals to handle. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  /** Ends the process. Default `process.exit`; tests pass a spy. */
  exit?: (code: number) => void;
  /** Give up and exit 1 after this many ms; Infinity waits as long as it takes. Default 10000. */
  timeoutMs?: number;
  /** Where a failed shutdown is reported. Default: `process.emitWarning`. */
  logger?: StoreLogger;
}

/**
 * Runs {@link shutdown} on the first SIGTERM or SIGINT, then exits 0 when
 * every acknowledged change is on disk and 1 when one is not: a store failed,
 * the timeout passed, or a store still reports unsaved changes at exit.
 * Later signals during shutdown are ignored rather than killing the process
 * mid-write. Nothing is installed until this is called; the returned function
 * removes the handlers. Throws OptionRangeError (`ERR_OPTION_RANGE`) for a
 * bad `timeoutMs`.
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
  const timeoutMs = numberOption('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, DURATION_MS);
  const logger = options.logger ?? createDefaultStoreLogger();
  const storeList = [...stores];
  let isShuttingDown = false;

  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    // Until the outcome is known the answer is failure: were the event loop to run dry under a
    // flush that never settles (no timer with timeoutMs Infinity), Node would otherwise exit 0.
    if (options.exit === undefined) process.exitCode = 1;
    let code = 0;
    try {
      await shutdown(storeList, encryptionService, { timeoutMs });
    } catch (error) {
      code = 1;
      const causes = error instanceof StoreFlushError ? { causes: error.errors.map(describeError) } : {};
      safeLog(logger, 'error', { signal, ...describeError(error), ...causes }, 'graceful shutdown could not put every store on disk');
    }
    // A macrotask later: process.emitWarning delivers on the next tick, and
    // an exit now would swallow the warning that says why the shutdown failed.
    setImmediate(() => {
      // The last word: a store still holding accepted changes (one without close(), changed meanwhile) means data would be lost.
      const unsaved = storeList.filter((store) => store.hasUnsavedChanges?.() === true).length;
      if (code === 0 && unsaved > 0) {
        code = 1;
        safeLog(logger, 'error', { signal, code: 'ERR_STORE_FLUSH', unsaved }, 'stores still hold unsaved changes at exit');
      }
      exit(code);
    });
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
