/**
 * Checkpoints (issue 15): when the journal outgrows its snapshot, fold it
 * into a new snapshot without holding the locks for longer than an append.
 * 1. Locked: write what is pending, remember the records and the offset O
 *    they cover. 2. Unlocked: encrypt and write them to a temp file (the
 *    slow part). 3. Locked: if the journal is still the same file, append a
 *    marker `{checkpoint: {snapshot: id, covers: O}}`, rename the temp over
 *    the snapshot, and replace the journal by a new one based on the new
 *    snapshot holding the lines after O verbatim. A crash between any two
 *    steps loses nothing: see the load rule in store-image.ts.
 */
// 'fs', not 'node:fs': a consumer's jest.mock('fs') must reach these reads too (see files/node-fs.ts).
import fs from 'fs';
import { readFullySync } from '../files/read-fully.js';
import { encodeEntry, formatHeader, snapshotIdOf } from './journal-format.js';
import { statPath } from './snapshot-reader.js';
import type { StoreEngine } from './store-engine.js';
import { serializeSnapshot, type RecordField } from './store-file.js';
import { publishFile, publishTemp, writeTemp } from './store-writes.js';

/** The journal size, relative to the snapshot, past which a checkpoint runs (and never below 256 KiB). */
export const CHECKPOINT_MIN_BYTES = 256 * 1024;

/** Whether the engine's journal has outgrown its snapshot. */
export function needsCheckpoint<T>(engine: StoreEngine<T>): boolean {
  const journal = engine.sync.journal;
  return journal !== undefined && journal.offset > Math.max(engine.sync.snapshotSize, CHECKPOINT_MIN_BYTES);
}

/** Runs one checkpoint; resolves false when another instance replaced the journal first (nothing to do). */
export async function checkpoint<T>(engine: StoreEngine<T>, field: RecordField): Promise<boolean> {
  const internals = engine.internals();
  const { filePath, journalPath } = engine.sync;
  const start = await engine.locked(async () => {
    await engine.writePending();
    const journal = engine.sync.journal;
    return journal === undefined ? undefined : { journal, records: [...engine.sync.records.values()] };
  });
  if (start === undefined) return false;
  const { journal: before } = start;
  const codec = await internals.codec(before.header.saltHex);
  // Queued under a key of its own: the service counts it as a pending write, and the file's queue stays free.
  const written = await internals.runLocked(`${filePath}.checkpoint`, async () => {
    const payload = codec.sealPayload(serializeSnapshot(field, start.records));
    return { id: snapshotIdOf(payload), temp: await writeTemp(internals.fileSystem, filePath, payload, internals.isDurable) };
  });
  const { id, temp } = written;
  return engine.locked(async () => {
    const now = engine.sync.journal;
    if (id === undefined || now === undefined || now.headerLine !== before.headerLine || now.stamp.ino !== before.stamp.ino) {
      await internals.fileSystem.unlink(temp).catch(() => undefined);
      return false;
    }
    // A change still pending is left to locked(), which appends it to the new journal right after.
    const markerAt = now.offset;
    await engine.appendLines(encodeEntry(codec, { checkpoint: { snapshot: id, covers: before.offset } }));
    await engine.assertHeld();
    await publishTemp(internals.fileSystem, temp, filePath, internals.isDurable);
    const header = { saltHex: before.header.saltHex, base: id };
    const headerLine = formatHeader(header);
    const text = headerLine + readRange(journalPath, before.offset, markerAt);
    await publishFile(internals.fileSystem, journalPath, text, internals.isDurable);
    const stamp = statPath(journalPath);
    engine.sync.noteWritten({
      snapshot: { stamp: statPath(filePath), id },
      journal: stamp === undefined ? null : { header, headerLine: headerLine.slice(0, -1), offset: text.length, stamp },
    });
    return true;
  });
}

function readRange(filePath: string, from: number, to: number): string {
  const bytes = Buffer.alloc(to - from);
  const fd = fs.openSync(filePath, 'r');
  try {
    readFullySync(fd, bytes, from);
  } finally {
    fs.closeSync(fd);
  }
  return bytes.toString('latin1');
}
