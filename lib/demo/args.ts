import { parseArgs } from 'node:util';

/** What the command line asked for. */
export interface CliOptions {
  /** Concurrent saves per part. */
  ops: number;
  /** Where the fresh working directory is made; the system's temp directory when absent. */
  dir: string | undefined;
  /** Keep the working directory afterwards. */
  isKeep: boolean;
  isJson: boolean;
  isHelp: boolean;
}

/** A bad flag or value: the CLI prints the message on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'ERR_USAGE' as const;
}

export const DEFAULT_OPS = 100;
const MAX_OPS = 100_000;

export const USAGE = `Usage: session-store-mutex [options]

Reproduces the concurrent-save race of the old EncryptionService recipe
(fixed <file>.tmp, no lock), then shows the same saves through this library,
then a mixed burst on the three OAuth stores across a simulated restart.

Options:
  --ops <n>     concurrent saves per part (default ${DEFAULT_OPS}, 1..${MAX_OPS})
  --dir <path>  work in a fresh directory inside <path> instead of the system's
                temporary directory
  --keep        keep the working directory afterwards (its path is printed)
  --json        print one JSON document instead of the table
  --help        show this help

Exit code: 0 when the library's saves all succeed and every acknowledged
store record survives the restart; 1 otherwise; 2 for bad flags.`;

/** Parses argv (without node and script); throws UsageError on anything off. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ops: { type: 'string' },
        dir: { type: 'string' },
        keep: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const ops = values.ops === undefined ? DEFAULT_OPS : Number(values.ops);
  if (!Number.isInteger(ops) || ops < 1 || ops > MAX_OPS) {
    throw new UsageError(`--ops takes a whole number from 1 to ${MAX_OPS}, got ${JSON.stringify(values.ops)}`);
  }
  if (values.dir !== undefined && values.dir.trim() === '') throw new UsageError('--dir takes a path');
  return { ops, dir: values.dir, isKeep: values.keep, isJson: values.json, isHelp: values.help };
}
