/**
 * `session-store-mutex <subcommand>`: parses the flags, runs the migration,
 * prints one line per store (or one JSON object) and returns the exit code.
 */
import type { MigrationCounts } from '../migrate.js';
import { parseArgs, USAGE } from './args.js';
import { CliUsageError, RedisClientMissingError } from './cli-errors.js';
import { runMigrate, type MigrateOutcome } from './migrate-command.js';
import type { ImportModule } from './redis-connection.js';

/** Where the command writes; process.stdout and process.stderr in real use. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const NAME = 'session-store-mutex';

/**
 * Runs the command line and resolves with the exit code: 0 migrated, 1 the
 * migration failed (stderr names the error's `code`), 2 bad flags or no Redis
 * client installed. Never prints the key, the Redis URL or a record.
 */
export async function main(argv: readonly string[], io: CliIo, importModule?: ImportModule): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    io.stderr.write(`${NAME}: ${error.message} (see --help)\n`);
    return 2;
  }
  if (args.isHelp) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let outcome: MigrateOutcome;
  try {
    outcome = await runMigrate(args, importModule);
  } catch (error) {
    if (error instanceof RedisClientMissingError) {
      io.stderr.write(`${NAME}: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`${NAME} migrate-to-redis: ${describeFailure(error)}\n`);
    return 1;
  }
  const { report, paths } = outcome;
  if (args.isJson) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    io.stdout.write(summary('sessions', paths.sessionsPath, report.sessions));
    io.stdout.write(summary('refresh tokens', paths.refreshTokensPath, report.refreshTokens));
    io.stdout.write(summary('clients', paths.clientsPath, report.clients));
  }
  return 0;
}

function summary(store: string, file: string, counts: MigrationCounts): string {
  const { copied, existing, expired, invalid } = counts;
  return `${store} (${file}): ${copied} copied, ${existing} already in Redis, ${expired} expired, ${invalid} invalid\n`;
}

/**
 * The error's code and message. Every error with a string `code` here is the
 * library's (whose messages carry no secret by rule) or Node's (a syscall and
 * a path); anything else is named by its class only, as its text is unknown.
 */
function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    if (typeof code === 'string') return `${code}: ${error.message}`;
    return `failed with ${error.name} (no code)`;
  }
  return 'failed (not an Error)';
}
