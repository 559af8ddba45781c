/**
 * What a locked catch-up does with files it cannot use (issue 9 item 5's
 * load half, issue 15's journal checks): an unreadable snapshot is moved
 * aside (the store starts empty, as before); a journal that does not
 * continue the snapshot is moved aside and ignored; bad records or corrupt
 * journal lines cost only themselves: byte-exact copies are kept beside the
 * files, and the snapshot is rewritten from the good records. Each with a
 * warning that gives paths and counts, never a record.
 */
import { keepCopyAside } from './copy-aside.js';
import { moveAside } from './move-aside.js';
import { statPath } from './snapshot-reader.js';
import type { StoreEngine } from './store-engine.js';
import type { CatchUp } from './store-sync.js';

type Warn = (fields: Record<string, unknown>, message: string) => void;

/** Handles the problems a catch-up under the lock found; nothing to do for a clean one. */
export async function handleBadFiles<T>(engine: StoreEngine<T>, outcome: CatchUp<T>, warn: Warn): Promise<void> {
  const { filePath, journalPath } = engine.sync;
  if (outcome.kind === 'current') return;
  if (outcome.kind === 'tail') {
    if (outcome.badRecords > 0 || outcome.corruptLines > 0) {
      await repair(engine, { keptRecords: engine.sync.records.size, droppedRecords: outcome.badRecords, droppedLines: outcome.corruptLines }, warn);
    }
    return;
  }
  const { image } = outcome;
  if (image.snapshot.problem !== undefined) {
    const movedTo = await moveAside(filePath);
    const journalMovedTo = statPath(journalPath) === undefined ? undefined : await moveAside(journalPath);
    warn({ problem: image.snapshot.problem, filePath, movedTo, journalMovedTo }, 'store file could not be read; moved aside, the store starts empty');
    engine.sync.noteWritten({ snapshot: { stamp: undefined, id: undefined }, journal: null });
    return;
  }
  if (image.journalState === 'stale' || image.journalState === 'unreadable') {
    const movedTo = await moveAside(journalPath);
    warn({ problem: `${image.journalState} journal`, filePath: journalPath, movedTo }, 'journal does not continue the store file; moved aside and ignored');
    engine.sync.noteWritten({ journal: null });
  }
  if (image.badRecords > 0 || image.corruptLines > 0) {
    await repair(engine, { keptRecords: image.records.size, droppedRecords: image.badRecords, droppedLines: image.corruptLines }, warn);
  }
}

/** Keeps byte-exact copies of the files, then rewrites the snapshot from the good records alone. */
async function repair<T>(engine: StoreEngine<T>, counts: { keptRecords: number; droppedRecords: number; droppedLines: number }, warn: Warn): Promise<void> {
  const { filePath, journalPath } = engine.sync;
  // The snapshot is only ever replaced by rename, so a hard link keeps its bytes; the journal is appended in place.
  const copiedTo = statPath(filePath) === undefined ? undefined : await keepCopyAside(filePath, 'link');
  const journalCopiedTo = statPath(journalPath) === undefined ? undefined : await keepCopyAside(journalPath, 'copy');
  warn({ ...counts, filePath, copiedTo, journalCopiedTo }, 'store file held records or journal lines that cannot be used; kept the good records, a copy of the original is beside it');
  await engine.fold();
}
