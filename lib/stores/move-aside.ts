import { promises as fs } from 'node:fs';
import { errorCode } from '../files/fs-seam.js';
import { siblingPath } from '../files/sibling-name.js';

/** Errors of `link` that mean "hard links are not supported here", not "the name is taken". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Moves an unreadable store file to `<file>.corrupt-<timestamp>` and returns
 * the new path (for a name too long for that suffix, a cut name with a hash
 * of the whole: see files/sibling-name.ts). Never overwrites: when the name is taken a `-1`, `-2`, ...
 * suffix is added. The name is claimed with `link`, which fails on an
 * existing name atomically, and the original is unlinked only afterwards; where
 * hard links are unsupported it falls back to checking the name, then `rename`.
 */
export async function moveAside(filePath: string, timestamp: number = Date.now()): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    const target = siblingPath(filePath, `.corrupt-${timestamp}${attempt === 0 ? '' : `-${attempt}`}`);
    try {
      await fs.link(filePath, target);
      await fs.unlink(filePath);
      return target;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'EEXIST') continue;
      if (code === undefined || !NO_HARD_LINKS.has(code)) throw error;
      if (await exists(target)) continue;
      await fs.rename(filePath, target);
      return target;
    }
  }
}

async function exists(filePath: string): Promise<boolean> {
  try {
    await fs.lstat(filePath);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}
