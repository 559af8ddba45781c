import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errorCode } from '../files/fs-seam.js';
import { UsageError } from './args.js';

/** The demonstration's own fresh directory; `remove()` deletes it and nothing else. */
export interface WorkDir {
  readonly path: string;
  remove(): Promise<void>;
}

/**
 * Makes a fresh directory inside `parent` (the system's temp directory when
 * undefined). A given parent must already exist and be a directory: the demo
 * never creates it, so it can never leave a directory of the user's behind.
 * A bad `--dir` is a UsageError (exit 2) with a one-line message.
 */
export async function makeWorkDir(parent: string | undefined): Promise<WorkDir> {
  const base = parent === undefined ? os.tmpdir() : path.resolve(parent);
  if (parent !== undefined) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(base)).isDirectory();
    } catch (error) {
      const code = errorCode(error) ?? 'ERR_UNKNOWN';
      throw new UsageError(code === 'ENOENT' ? `--dir ${base} does not exist; give an existing directory` : `--dir ${base} cannot be read (${code})`);
    }
    if (!isDirectory) throw new UsageError(`--dir ${base} is not a directory`);
  }
  let dir: string;
  try {
    dir = await mkdtemp(path.join(base, 'session-store-mutex-'));
  } catch (error) {
    const message = `cannot make a working directory in ${base} (${errorCode(error) ?? 'ERR_UNKNOWN'})`;
    if (parent !== undefined) throw new UsageError(`--dir: ${message}`);
    throw new Error(message, { cause: error });
  }
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
