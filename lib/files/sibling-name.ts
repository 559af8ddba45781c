/**
 * Names of the files the library keeps beside a target (temp files, the lock
 * entry, moved-aside copies) must fit the file system's name limit even when
 * the target's own name nearly fills it. Such a name is the target's name
 * plus a suffix; when that is too long, the target's name is cut and a hash
 * of the whole of it keeps different targets apart.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

/** The longest file name, in bytes, on the file systems Node runs on (ext4, xfs, btrfs, APFS, NTFS in UTF-16 units). */
export const NAME_MAX_BYTES = 255;
/** Hex digits of the hash that stands for a shortened name: 64 bits. */
const HASH_HEX = 16;

/**
 * `<target>` + `suffix`, or, when that name would pass 255 bytes,
 * `<cut name>~<16 hex of sha256(name)>` + `suffix`, cut on a character boundary.
 * Deterministic: every process derives the same name for the same target,
 * which the lock entry needs. Targets that fit get exactly the old names.
 */
export function siblingPath(target: string, suffix: string): string {
  const name = path.basename(target);
  if (Buffer.byteLength(name) + Buffer.byteLength(suffix) <= NAME_MAX_BYTES) return `${target}${suffix}`;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_HEX);
  const room = NAME_MAX_BYTES - Buffer.byteLength(suffix) - HASH_HEX - 1;
  if (room < 1) throw new RangeError(`suffix of ${Buffer.byteLength(suffix)} bytes leaves no room for a name`);
  return path.join(path.dirname(target), `${cutToBytes(name, room)}~${hash}${suffix}`);
}

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that ends on a character boundary. */
function cutToBytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
