/**
 * One store instance's view of its file: what it has read (snapshot stamp
 * and id, journal cursor) and the local changes not yet written (`pending`).
 * `isCurrent()` costs two stats; `catchUp()` reads only what changed: the
 * journal's new lines, or the whole file when it was replaced. Records
 * adopted from the file never overwrite a pending local change: that change
 * is written later, so on disk it is the last operation on its id and wins.
 */
import { journalPathOf } from './journal-format.js';
import { readJournalTail, type JournalCursor } from './journal-reader.js';
import type { RecordSpec } from './record-rules-spec.js';
import { applyChanges, readStoreImage, type StoreImage } from './store-image.js';
import { isRecentlyModified, readSnapshotId, sameStamp, statPath, type CodecProvider, type FileStamp } from './snapshot-reader.js';

/** What a catch-up did: nothing, applied new journal lines, or reloaded the whole file. */
export type CatchUp<T> =
  | { readonly kind: 'current' }
  | { readonly kind: 'tail'; readonly corruptLines: number; readonly badRecords: number }
  | { readonly kind: 'reload'; readonly image: StoreImage<T> };

export class StoreSync<T> {
  readonly filePath: string;
  readonly journalPath: string;
  /** The store's own map: the file's records with the pending changes on top. */
  readonly records: Map<string, T>;
  /** Ids changed locally and not yet written; the flag says whether the change counts as unsaved. */
  readonly pending = new Map<string, boolean>();
  readonly #spec: RecordSpec<T>;
  #hasRead = false;
  #snapshot: FileStamp | undefined;
  #snapshotId: string | undefined;
  #journal: JournalCursor | undefined;
  /** A journal present but not applied (stale or unreadable): remembered so it does not force a reload on every lookup. */
  #ignoredJournal: FileStamp | undefined;

  constructor(filePath: string, spec: RecordSpec<T>, records: Map<string, T>) {
    this.filePath = filePath;
    this.journalPath = journalPathOf(filePath);
    this.#spec = spec;
    this.records = records;
  }

  /** The id of the snapshot last read or written; undefined when there is none. */
  get snapshotId(): string | undefined {
    return this.#snapshotId;
  }

  get snapshotSize(): number {
    return this.#snapshot?.size ?? 0;
  }

  /** The live journal's cursor, if there is one. */
  get journal(): JournalCursor | undefined {
    return this.#journal;
  }

  /** Whether neither file changed since this instance last read or wrote them. */
  isCurrent(): boolean {
    if (!this.#hasRead || !this.#isSnapshotUnchanged()) return false;
    const journal = statPath(this.journalPath);
    return sameStamp(journal, this.#journal?.stamp ?? this.#ignoredJournal);
  }

  /** Brings the records up to the file. Throws MissingKeyError when `codecOf` does not derive. */
  catchUp(codecOf: CodecProvider, isLocked: boolean): CatchUp<T> {
    // A journal a lookup ignored is read again under the lock, so it is moved aside (and warned
    // about) before this instance's next save could replace it.
    if (this.isCurrent() && !(isLocked && this.#ignoredJournal !== undefined)) return { kind: 'current' };
    if (this.#journal !== undefined && this.#isSnapshotUnchanged()) {
      const tail = readJournalTail(this.journalPath, this.#journal, this.#spec, codecOf);
      if (tail !== undefined) {
        applyChanges(this.records, tail.scan.changes, this.#spec, new Set(this.pending.keys()));
        this.#journal = tail.cursor;
        return { kind: 'tail', corruptLines: tail.scan.corruptLines, badRecords: tail.scan.badRecords };
      }
    }
    const image = readStoreImage(this.filePath, this.#spec, codecOf);
    // Unlocked, an unreadable snapshot is left to the next locked operation, which moves it aside.
    if (!isLocked && image.snapshot.problem !== undefined) return { kind: 'current' };
    this.adopt(image);
    return { kind: 'reload', image };
  }

  /**
   * Whether the snapshot is the one last read or written: the same stamp and,
   * for a file modified in the last moments, the same id too (a few
   * microseconds more, paid only while someone is writing the file).
   */
  #isSnapshotUnchanged(): boolean {
    const stamp = statPath(this.filePath);
    if (!sameStamp(stamp, this.#snapshot)) return false;
    return stamp === undefined || !isRecentlyModified(stamp) || readSnapshotId(this.filePath) === this.#snapshotId;
  }

  /** Replaces the records with the image's, keeping pending local changes on top. */
  adopt(image: StoreImage<T>): void {
    const local = [...this.pending.keys()].map((id) => [id, this.records.get(id)] as const);
    this.records.clear();
    for (const [id, record] of image.records) this.records.set(id, record);
    for (const [id, record] of local) {
      if (record === undefined) this.records.delete(id);
      else this.records.set(id, record);
    }
    this.#hasRead = true;
    this.#snapshot = image.snapshot.stamp;
    this.#snapshotId = image.snapshot.id;
    this.#journal = image.journal;
    this.#ignoredJournal = image.journal === undefined ? statPath(this.journalPath) : undefined;
  }

  /** Records what this instance itself wrote (under the lock), so its own writes do not look like others'. */
  noteWritten(written: { snapshot?: { stamp: FileStamp | undefined; id: string | undefined }; journal?: JournalCursor | null }): void {
    this.#hasRead = true;
    if (written.snapshot !== undefined) {
      this.#snapshot = written.snapshot.stamp;
      this.#snapshotId = written.snapshot.id;
    }
    if (written.journal !== undefined) {
      this.#journal = written.journal ?? undefined;
      this.#ignoredJournal = undefined;
    }
  }

  /** Takes the pending changes for one save: the entry to write and a way to put them back if it fails. */
  takePending(): { put: T[]; del: string[]; restore: () => void } {
    const taken = [...this.pending];
    this.pending.clear();
    const put: T[] = [];
    const del: string[] = [];
    for (const [id] of taken) {
      const record = this.records.get(id);
      if (record === undefined) del.push(id);
      else put.push(record);
    }
    const restore = (): void => {
      for (const [id, isUnsaved] of taken) if (!this.pending.has(id)) this.pending.set(id, isUnsaved);
    };
    return { put, del, restore };
  }
}
