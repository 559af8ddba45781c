/** What the command line asked for. */
export interface CliOptions {
  /** Concurrent saves per part. */
  ops: number;
  /** An existing directory to make the fresh working directory in; the system's temp directory when absent. */
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

/** Concurrent saves per part when --ops is not given. */
export const DEFAULT_OPS = 100;
/** The largest --ops accepted: the old recipe queues one scrypt call per save. */
export const MAX_OPS = 100_000;

/** The --help text; every line fits 80 columns. */
export const USAGE = `Usage: npm start -- [options]   (or: node dist/demo/bin.js [options])

Reproduces the concurrent-save race of the old EncryptionService recipe
(fixed <file>.tmp, no lock), then shows the same saves through this library,
then a mixed burst on the three OAuth stores across a simulated restart.

Options:
  --ops <n>     concurrent saves per part (default ${DEFAULT_OPS}, 1..${MAX_OPS})
  --dir <path>  an existing directory to work in (a fresh subdirectory is
                made there and removed afterwards); default: the system's
                temporary directory
  --keep        keep the working directory afterwards (its path is printed)
  --json        print one JSON document instead of the table
  --help, -h    show this help

Exit code: 0 when the library's saves all succeed and every acknowledged
store record survives the restart; 1 otherwise; 2 for a bad flag.`;

const VALUE_FLAGS = new Set(['ops', 'dir']);
const SWITCHES = new Set(['keep', 'json', 'help']);

/**
 * Parses argv (without node and script); throws UsageError, with a one-line
 * message, on anything off. Hand-written rather than util.parseArgs: that one
 * reads `--ops -5` as a missing value and explains it in three lines.
 */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  const values: { ops?: string; dir?: string; keep?: boolean; json?: boolean; help?: boolean } = {};
  // A flag given twice is an error rather than "last one wins": `--ops 5 --ops 6` is more likely a slip than a choice.
  const seen = new Set<string>();
  const once = (name: string): void => {
    if (seen.has(name)) throw new UsageError(`--${name} given more than once`);
    seen.add(name);
  };
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index] ?? '';
    if (token === '-h') {
      once('help');
      values.help = true;
      continue;
    }
    if (!token.startsWith('--')) {
      throw new UsageError(token.startsWith('-') ? `unknown flag ${token}` : `unexpected argument ${JSON.stringify(token)}`);
    }
    const equals = token.indexOf('=');
    const name = token.slice(2, equals === -1 ? undefined : equals);
    const inline = equals === -1 ? undefined : token.slice(equals + 1);
    if (SWITCHES.has(name) || VALUE_FLAGS.has(name)) once(name);
    if (SWITCHES.has(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      values[name as 'keep' | 'json' | 'help'] = true;
    } else if (VALUE_FLAGS.has(name)) {
      // A following flag is not a value (`--ops --json`), but a negative number is (`--ops -5`).
      const next = argv[index + 1];
      const value = inline ?? (next === undefined || next.startsWith('--') ? undefined : next);
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (inline === undefined) index += 1;
      values[name as 'ops' | 'dir'] = value;
    } else {
      throw new UsageError(`unknown flag --${name}`);
    }
  }
  const ops = values.ops === undefined ? DEFAULT_OPS : Number(values.ops);
  // Digits only: Number() would also take '0x10', '1e3' and ' 7 '.
  if (values.ops !== undefined && (!/^[0-9]+$/.test(values.ops) || ops < 1 || ops > MAX_OPS)) {
    throw new UsageError(`--ops takes a whole number from 1 to ${MAX_OPS}, got ${JSON.stringify(values.ops)}`);
  }
  if (values.dir !== undefined && values.dir.trim() === '') throw new UsageError('--dir takes a path, got an empty one');
  return { ops, dir: values.dir, isKeep: values.keep === true, isJson: values.json === true, isHelp: values.help === true };
}
