/**
 * One name per file, so every spelling of a path shares one lock: relative
 * or absolute, with `..`, or through a symlinked directory.
 */
import path from 'node:path';
import { errorCode, type FileSystem } from './fs-seam.js';

/**
 * The physical absolute path of `filePath`: the kernel's resolution
 * (realpath) of the longest part that exists, plus the parts that do not
 * exist yet. `..` is resolved physically where the path exists (so
 * `link/../x` means what `open` would make of it) and lexically beyond.
 * Not cached: a symlink may be repointed at any time, and a realpath costs
 * microseconds next to the write it guards.
 */
export async function canonicalPath(fs: FileSystem, filePath: string): Promise<string> {
  // Deliberately not path.resolve: it would fold `link/..` lexically before the kernel sees it.
  const absolute = path.isAbsolute(filePath) ? filePath : `${process.cwd()}${path.sep}${filePath}`;
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      return path.join(await fs.realpath(existing), ...missing);
    } catch (error) {
      const code = errorCode(error);
      // ENOTDIR: a part is a regular file; the open that follows reports it with its own code.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    }
    const parent = path.dirname(existing);
    if (parent === existing) return path.resolve(absolute);
    missing.unshift(path.basename(existing));
    existing = parent;
  }
}
