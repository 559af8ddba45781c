import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseCliArgs, USAGE, UsageError } from './args.js';
import { runFixedPart } from './fixed-part.js';
import { runLegacyPart } from './legacy-part.js';
import type { PartResult } from './part-result.js';
import { Progress, type ProgressStream } from './progress.js';
import { renderTable } from './render.js';
import { runStorePart } from './store-part.js';

/** Where the CLI writes; process.stdout and process.stderr in real use. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
}

/**
 * Runs the demonstration and returns the exit code: 0 when the library's saves
 * all succeeded and every acknowledged record survived the restart, 1 when
 * not, 2 for bad flags.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let options;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`session-store-mutex: ${error.message} (see --help)\n`);
    return 2;
  }
  if (options.isHelp) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }

  // A fresh directory of our own, inside --dir when given: removing it
  // afterwards can never touch anything the user already had there.
  const parent = options.dir === undefined ? os.tmpdir() : path.resolve(options.dir);
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(path.join(parent, 'session-store-mutex-'));
  // A throwaway key: the demonstration never touches ~/.sage.
  const secret = randomBytes(32).toString('hex');
  const progress = new Progress(io.stderr);
  const parts: PartResult[] = [];
  try {
    parts.push(await runLegacyPart(dir, options.ops, progress));
    parts.push(await runFixedPart(dir, secret, options.ops, progress));
    parts.push(await runStorePart(dir, secret, options.ops, progress));
  } finally {
    progress.stop();
    if (!options.isKeep) await rm(dir, { recursive: true, force: true });
  }

  const isOk = parts.every((part) => part.isOk !== false);
  if (options.isJson) {
    io.stdout.write(`${JSON.stringify({ ok: isOk, ops: options.ops, dir: options.isKeep ? dir : undefined, parts }, null, 2)}\n`);
  } else {
    io.stdout.write(renderTable(parts));
    io.stdout.write(`${isOk ? 'OK: the race is reproduced and the fix holds' : 'FAILED: see the table'}${options.isKeep ? ` (files kept in ${dir})` : ''}\n`);
  }
  return isOk ? 0 : 1;
}
