/**
 * The read-merge-write engine of one store instance (issues 9 and 15).
 * Every write runs under both locks (store-lock.ts) after catching up with
 * the file, so a save never replaces records it has not read. A store
 * without a journal and under JOURNAL_FROM_BYTES is rewritten whole (the
 * original format alone); a larger one appends one journal line per save.
 */
import path from 'node:path';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { internalsOf, type ServiceInternals } from '../encryption/service-internals.js';
import { handleBadFiles } from './bad-files.js';
import { encodeEntry, formatHeader, snapshotIdOf } from './journal-format.js';
import type { RecordSpec } from './record-rules-spec.js';
import { MissingKeyError, statPath, type CodecProvider } from './snapshot-reader.js';
import { serializeSnapshot } from './store-file.js';
import type { HeldLock } from '../files/process-lock.js';
import { withStoreLock } from './store-lock.js';
import { safeLog, type StoreLogger } from './store-logger.js';
import { StoreSync } from './store-sync.js';
import { appendToJournal, publishFile, removeFile } from './store-writes.js';

/** Below this snapshot size a store without a journal is rewritten whole: as fast, and the original server reads it. */
export const JOURNAL_FROM_BYTES = 64 * 1024;

/** What the engine needs to know of a store. */
export interface EngineSpec<T> extends RecordSpec<T> {
  /** The store's name in log lines. */
  readonly name: string;
}

export class StoreEngine<T> {
  readonly sync: StoreSync<T>;
  readonly #service: EncryptionService;
  readonly #spec: EngineSpec<T>;
  readonly #logger: StoreLogger;
  #inFlightUnsaved = 0;
  /** The cross-process lock while this instance holds it: checked right before each irreversible write. */
  #held: HeldLock | undefined;
  /** Called after each append with the journal's size; schedules checkpoints. */
  onAppended: (() => void) | undefined;

  constructor(service: EncryptionService, filePath: string, spec: EngineSpec<T>, records: Map<string, T>, logger: StoreLogger) {
    this.#service = service;
    this.#spec = spec;
    this.#logger = logger;
    this.sync = new StoreSync(filePath, spec, records);
  }

  /** Whether a change made here is not yet on disk (pending or being written). */
  get hasUnsavedChanges(): boolean {
    if (this.#inFlightUnsaved > 0) return true;
    for (const isUnsaved of this.sync.pending.values()) if (isUnsaved) return true;
    return false;
  }

  internals(): ServiceInternals {
    return internalsOf(this.#service);
  }

  /** Lock-free catch-up for synchronous lookups (two stats when nothing changed); a salt never seen costs one synchronous scrypt. */
  refreshSync(): void {
    if (!this.#service.isInitialized()) return;
    this.sync.catchUp(this.internals().codecSync, false);
  }

  /** Lock-free catch-up for asynchronous lookups; keys are derived on the thread pool. */
  async refresh(): Promise<void> {
    if (!this.#service.isInitialized()) return;
    await this.withKeys((codecOf) => this.sync.catchUp(codecOf, false));
  }

  /** Runs a synchronous read with cached keys, deriving any missing key asynchronously and reading again. */
  async withKeys<R>(read: (codecOf: CodecProvider) => R): Promise<R> {
    const internals = this.internals();
    const cachedOnly: CodecProvider = (saltHex) => {
      const codec = internals.cachedCodec(saltHex);
      if (codec === undefined) throw new MissingKeyError(saltHex);
      return codec;
    };
    for (;;) {
      try {
        return read(cachedOnly);
      } catch (error) {
        if (!(error instanceof MissingKeyError)) throw error;
        await internals.codec(error.saltHex);
      }
    }
  }

  /**
   * Under both locks: catch up (handling bad files), run `fn`, then write
   * the pending changes durably. Resolves with `fn`'s result once on disk.
   */
  async locked<R>(fn: () => R | Promise<R>): Promise<R> {
    const internals = this.internals();
    // Entered synchronously: the service counts the save as pending from the call on.
    return withStoreLock(internals, this.sync.filePath, async (canonical, lock) => {
      this.#held = lock;
      try {
        await internals.sweepOnce(path.dirname(canonical));
        await this.catchUpLocked();
        const result = await fn();
        await this.writePending();
        return result;
      } finally {
        this.#held = undefined;
      }
    });
  }

  /**
   * Rejects with ERR_LOCK_COMPROMISED when the cross-process lock was lost
   * (a stall past the stale bound let another process take it): called right
   * before each irreversible write, so a compromised holder writes nothing.
   */
  async assertHeld(): Promise<void> {
    await this.#held?.assertHeld();
  }

  /** Catches up under the lock; files that cannot be used are moved or copied aside, with a warning (bad-files.ts). */
  async catchUpLocked(): Promise<void> {
    const outcome = await this.withKeys((codecOf) => this.sync.catchUp(codecOf, true));
    await handleBadFiles(this, outcome, (fields, message) => safeLog(this.#logger, 'warn', { store: this.#spec.name, ...fields }, message));
  }

  /** Writes every record as a new snapshot and removes the journal: the snapshot alone then holds everything. */
  async fold(): Promise<void> {
    const internals = this.internals();
    const { filePath, journalPath, journal } = this.sync;
    const codec = journal === undefined ? internals.activeCodec() : await internals.codec(journal.header.saltHex);
    const taken = this.#take();
    try {
      const payload = codec.sealPayload(serializeSnapshot(this.#spec.field, this.sync.records.values()));
      const id = snapshotIdOf(payload);
      if (journal !== undefined && id !== undefined) {
        // A reader that opened the journal before the rename must know the new snapshot covers all of it.
        await this.appendLines(encodeEntry(codec, { checkpoint: { snapshot: id, covers: journal.offset } }));
      }
      await this.assertHeld();
      await publishFile(internals.fileSystem, filePath, payload, internals.isDurable);
      // Gone already (no journal yet) is fine: removeFile ignores ENOENT.
      await removeFile(internals.fileSystem, journalPath, internals.isDurable);
      this.sync.noteWritten({ snapshot: { stamp: statPath(filePath), id }, journal: null });
      taken.done();
    } catch (error) {
      taken.fail();
      throw error;
    }
  }

  /** Writes the pending changes (under the lock, after a catch-up): whole file when small, else one journal line. */
  async writePending(): Promise<void> {
    if (this.sync.pending.size === 0) return;
    const internals = this.internals();
    const { snapshotId, journal, snapshotSize } = this.sync;
    if (snapshotId === undefined || (journal === undefined && snapshotSize < JOURNAL_FROM_BYTES)) {
      await this.fold();
      return;
    }
    const taken = this.#take();
    try {
      if (journal === undefined) {
        const codec = internals.activeCodec();
        const header = { saltHex: codec.saltHex, base: snapshotId };
        const headerLine = formatHeader(header);
        const text = headerLine + encodeEntry(codec, { put: taken.put, del: taken.del });
        await this.assertHeld();
        await publishFile(internals.fileSystem, this.sync.journalPath, text, internals.isDurable);
        const stamp = statPath(this.sync.journalPath);
        if (stamp === undefined) throw new Error('the journal vanished under the lock');
        this.sync.noteWritten({ journal: { header, headerLine: headerLine.slice(0, -1), offset: text.length, stamp } });
      } else {
        const codec = await internals.codec(journal.header.saltHex);
        await this.appendLines(encodeEntry(codec, { put: taken.put, del: taken.del }));
      }
      taken.done();
    } catch (error) {
      taken.fail();
      throw error;
    }
    this.onAppended?.();
  }

  /** Appends whole lines to the live journal (under the lock), cutting a torn tail first. */
  async appendLines(text: string): Promise<void> {
    const internals = this.internals();
    const journal = this.sync.journal;
    if (journal === undefined) throw new Error('no live journal to append to');
    const truncateTo = journal.stamp.size > journal.offset ? journal.offset : undefined;
    await this.assertHeld();
    const stamp = await appendToJournal(internals.fileSystem, this.sync.journalPath, text, truncateTo, internals.isDurable);
    this.sync.noteWritten({ journal: { ...journal, offset: journal.offset + text.length, stamp } });
  }

  #take(): { put: T[]; del: string[]; done: () => void; fail: () => void } {
    const unsaved = [...this.sync.pending.values()].filter(Boolean).length;
    const { put, del, restore } = this.sync.takePending();
    this.#inFlightUnsaved += unsaved;
    // Each caller settles exactly once: done() as the last step of its try, fail() in its catch.
    const settle = (): void => {
      this.#inFlightUnsaved -= unsaved;
    };
    return { put, del, done: settle, fail: () => (settle(), restore()) };
  }
}
