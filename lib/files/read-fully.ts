/**
 * Positional reads that do not stop short. `fs.readSync` may return fewer
 * bytes than asked before the end of the file (network and FUSE file
 * systems do); a reader that took one call's bytes as the whole would see a
 * truncated prefix, and the store would then set a live journal aside as
 * stale. Local disks rarely show it, so every reader goes through here.
 */
import fs from 'fs';

/**
 * Reads into all of `into` from `position`, calling `fs.readSync` until it is
 * full or the file ends.
 *
 * @returns the bytes read: `into.length`, or fewer only at the end of the file
 */
export function readFullySync(fd: number, into: Buffer, position: number): number {
  let total = 0;
  while (total < into.length) {
    const read = fs.readSync(fd, into, total, into.length - total, position + total);
    if (read === 0) break;
    total += read;
  }
  return total;
}
