import { constants } from 'fs';
import { fsPromises } from '../files/node-fs.js';
import { errorCode } from '../files/fs-seam.js';
import { siblingPath } from '../files/sibling-name.js';

/**
 * Keeps a byte-exact copy of `filePath` at `<file>.corrupt-<timestamp>`
 * (a `-1`, `-2`... suffix when taken) and returns its path; the original
 * stays. For a file only ever replaced by rename (a snapshot) a hard link
 * keeps the bytes at no cost; a file appended in place (a journal) needs
 * `'copy'`, an exclusive copy, which is also the fallback where links fail.
 */
export async function keepCopyAside(filePath: string, how: 'link' | 'copy', timestamp: number = Date.now()): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    const target = siblingPath(filePath, `.corrupt-${timestamp}${attempt === 0 ? '' : `-${attempt}`}`);
    if (how === 'link') {
      try {
        await fsPromises().link(filePath, target);
        return target;
      } catch (error) {
        const code = errorCode(error);
        if (code === 'EEXIST') continue;
        if (code === 'ENOENT') throw error;
      }
    }
    try {
      await fsPromises().copyFile(filePath, target, constants.COPYFILE_EXCL);
      return target;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
  }
}
