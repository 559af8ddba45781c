/**
 * The command line of `session-store-mutex migrate-to-redis`, parsed by hand
 * (zero dependencies; util.parseArgs would quote a mistyped `--flag=value`,
 * and a value may be a URL with a password).
 */
import os from 'node:os';
import path from 'node:path';
import { CliUsageError } from './cli-errors.js';

/** The one subcommand. */
export const MIGRATE_COMMAND = 'migrate-to-redis';

/** What `--help` prints. */
export const USAGE = `usage: session-store-mutex ${MIGRATE_COMMAND} --redis-url <redis://…> [--dir <dir>] [--key-prefix <prefix>] [--key-file <path>] [--json] [--force]

Copies oauth_sessions.enc, oauth_refresh_tokens.enc and oauth_clients.enc from
--dir (default ~/.sage, which must hold at least one of them) into Redis;
records already in Redis are left as they are. A completed run is recorded in
Redis (<prefix>meta:migrated) and a second run refuses (ERR_ALREADY_MIGRATED):
--force runs it anyway and BRINGS BACK every token revoked and every session
or client deleted in Redis since, if the files still hold them. The key is SAGE_ENCRYPTION_KEY, else
--key-file (default ~/.sage/oauth_encryption_key); none is ever generated.
Exit codes: 0 done, 1 migration failed (the error's code is printed), 2 bad
flags or no Redis client (install redis or ioredis next to session-store-mutex).`;

/** A parsed `migrate-to-redis` command line, with its defaults applied. */
export interface MigrateArgs {
  readonly redisUrl: string;
  /** Directory of the three store files. Default `~/.sage`. */
  readonly dir: string;
  /** Default `ssm:`, as RedisBackend's. */
  readonly keyPrefix: string;
  /** Default `~/.sage/oauth_encryption_key`, as EncryptionService's (not moved by --dir). */
  readonly keyFile: string;
  readonly isJson: boolean;
  /** `--force`: run although an earlier run completed (brings back what was revoked or deleted in Redis since). */
  readonly isForced: boolean;
}

/** Either a command to run or a request for the usage text. */
export type ParsedArgs = { readonly isHelp: true } | ({ readonly isHelp: false } & MigrateArgs);

const VALUE_FLAGS = new Set(['--redis-url', '--dir', '--key-prefix', '--key-file']);

/** Parses argv (without `node` and the script); throws CliUsageError naming the flag, never its value. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  if (argv.includes('--help') || argv.includes('-h')) return { isHelp: true };
  const [command, ...rest] = argv;
  if (command !== MIGRATE_COMMAND) {
    throw new CliUsageError(command === undefined ? 'missing subcommand (the only one is migrate-to-redis)' : 'unknown subcommand (the only one is migrate-to-redis)');
  }
  const values = new Map<string, string>();
  let isJson = false;
  let isForced = false;
  for (let index = 0; index < rest.length; index += 1) {
    const token = rest[index]!;
    const equals = token.indexOf('=');
    const flag = token.startsWith('--') && equals > 0 ? token.slice(0, equals) : token;
    if (flag === '--json' && flag === token) {
      isJson = true;
      continue;
    }
    if (flag === '--force' && flag === token) {
      isForced = true;
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) throw new CliUsageError(flag.startsWith('-') ? `unknown flag ${flagName(flag)}` : 'unexpected argument');
    if (values.has(flag)) throw new CliUsageError(`${flag} given twice`);
    const value = flag === token ? rest[(index += 1)] : token.slice(equals + 1);
    if (value === undefined || value.trim() === '' || (flag === token && value.startsWith('--'))) throw new CliUsageError(`${flag} needs a value`);
    values.set(flag, value);
  }
  const redisUrl = values.get('--redis-url');
  if (redisUrl === undefined) throw new CliUsageError('--redis-url is required');
  if (!isRedisUrl(redisUrl)) throw new CliUsageError('--redis-url must be a redis:// or rediss:// URL');
  const sage = path.join(os.homedir(), '.sage');
  return {
    isHelp: false,
    redisUrl,
    dir: path.resolve(values.get('--dir') ?? sage),
    keyPrefix: values.get('--key-prefix') ?? 'ssm:',
    keyFile: path.resolve(values.get('--key-file') ?? path.join(sage, 'oauth_encryption_key')),
    isJson,
    isForced,
  };
}

/** Letters and dashes only: `--redis-urlredis://u:pw@h` (a missing space) must not echo the password. */
function flagName(token: string): string {
  return /^-{1,2}[A-Za-z][A-Za-z-]{0,30}/.exec(token)?.[0] ?? 'flag';
}

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}
