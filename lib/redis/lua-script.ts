import { createHash } from 'node:crypto';
import type { CommandRunner } from './command-runner.js';
import { RedisReplyError } from './redis-errors.js';

/**
 * A server-side script, sent by its SHA-1 (EVALSHA) and by its source (EVAL)
 * only when the server answers NOSCRIPT: after a restart, a failover or a
 * SCRIPT FLUSH the cache is empty, and EVAL puts the script back into it.
 * A script runs atomically: no other command runs on the server meanwhile.
 */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script on `keys` and `args`; resolves with its reply. */
  async run(runner: CommandRunner, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await runner.call(['EVALSHA', this.#sha, ...tail]);
    } catch (error) {
      // Only NOSCRIPT proves the script did not run; any other failure is passed on, never retried.
      if (!(error instanceof RedisReplyError) || error.redisCode !== 'NOSCRIPT') throw error;
      return runner.call(['EVAL', this.#source, ...tail]);
    }
  }
}
