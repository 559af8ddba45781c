import { randomBytes } from 'node:crypto';
import { parseCliArgs, USAGE, UsageError } from './args.js';
import { runFixedPart } from './fixed-part.js';
import { runLegacyPart } from './legacy-part.js';
import type { PartResult } from './part-result.js';
import { Progress, type ProgressStream } from './progress.js';
import { renderReport } from './render.js';
import { runStorePart } from './store-part.js';
import { makeWorkDir, type WorkDir } from './work-dir.js';
import { wrap } from './wrap.js';

/** Where the CLI writes; process.stdout and process.stderr in real use. */
export interface CliIo {
  /** `columns` is read only when `isTTY`: a pipe or a file gets 80. */
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: ProgressStream;
  /** Told the working directory once it exists (undefined with --keep, which keeps it): a signal handler can then remove it. */
  onWorkDir?: (dir: WorkDir | undefined) => void;
}

/** The width the screen is laid out for. */
export const DEFAULT_WIDTH = 80;
const MIN_WIDTH = 40;

/** The JSON document printed with --json; every part has the same fields. */
export interface JsonReport {
  ok: boolean;
  ops: number;
  /** The kept working directory, null unless --keep. */
  dir: string | null;
  parts: PartResult[];
}

/** The terminal's width when stdout is one (at least 40), else 80. */
export function screenWidth(stdout: CliIo['stdout']): number {
  const columns = stdout.isTTY === true ? stdout.columns : undefined;
  return columns === undefined || !Number.isInteger(columns) || columns <= 0 ? DEFAULT_WIDTH : Math.max(MIN_WIDTH, columns);
}

/** A message on one line whatever it carries (an error's text may hold newlines). */
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');

/**
 * Runs the demonstration and returns the exit code: 0 when the library's saves
 * all succeeded and every acknowledged record survived the restart, 1 when
 * not, 2 for a bad flag (one line on stderr).
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let options;
  let workDir: WorkDir;
  try {
    options = parseCliArgs(argv);
    if (options.isHelp) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    workDir = await makeWorkDir(options.dir);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`session-store-mutex: ${oneLine(error.message)} (see --help)\n`);
    return 2;
  }
  // Always called once the directory exists (undefined with --keep), so a signal that came first can be acted on.
  io.onWorkDir?.(options.isKeep ? undefined : workDir);

  // A throwaway key: the demonstration never touches ~/.sage.
  const secret = randomBytes(32).toString('hex');
  const progress = new Progress(io.stderr);
  const parts: PartResult[] = [];
  try {
    parts.push(await runLegacyPart(workDir.path, options.ops, progress));
    parts.push(await runFixedPart(workDir.path, secret, options.ops, progress));
    parts.push(await runStorePart(workDir.path, secret, options.ops, progress));
  } finally {
    progress.stop();
    if (!options.isKeep) await workDir.remove();
  }

  const isOk = parts.every((part) => part.isOk || !part.isExpectedToHold);
  if (options.isJson) {
    const report: JsonReport = { ok: isOk, ops: options.ops, dir: options.isKeep ? workDir.path : null, parts };
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const width = screenWidth(io.stdout);
    const isRaceShown = parts.some((part) => !part.isExpectedToHold && !part.isOk);
    const verdict = !isOk
      ? 'FAILED: the library lost or failed saves; see above.'
      : isRaceShown
        ? 'OK: the old recipe lost saves; through this library nothing was lost.'
        : 'OK: through this library nothing was lost (the old recipe got lucky this run).';
    io.stdout.write(renderReport({ parts, ops: options.ops, width }));
    io.stdout.write(`${wrap(verdict + (options.isKeep ? ` Files kept in ${workDir.path}` : ''), width).join('\n')}\n`);
  }
  return isOk ? 0 : 1;
}
