import type { EncryptionService } from '../encryption/encryption-service.js';
import { CommandRunner, DEFAULT_COMMAND_TIMEOUT_MS, type SendCommand } from './command-runner.js';
import { requirePositive } from './input-checks.js';
import { KeySpace, type KeyNames } from './key-space.js';
import { RedisStoreInputError } from './redis-errors.js';

/** Options of a {@link RedisBackend}. */
export interface RedisBackendOptions {
  /**
   * Sends one command and resolves with its reply, e.g.
   * `(args) => client.sendCommand(args)` (node-redis) or
   * `(args) => client.call(...args)` (ioredis).
   */
  sendCommand: SendCommand;
  /** An initialised service; values are encrypted with its key, as the files are. */
  encryptionService: EncryptionService;
  /** Prepended to every key, so several servers can share one Redis. Default `ssm:`. */
  keyPrefix?: string;
  /** Longest wait for one reply before rejecting with `ERR_REDIS_TIMEOUT`. Default 2000. */
  commandTimeoutMs?: number;
}

/** setTimeout's largest delay; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One Redis as seen by the three stores: how to send a command, the key names
 * and the encryption. Share one per prefix; it holds no connection of its own.
 */
export class RedisBackend {
  /** Runs a command with the timeout and typed errors. */
  readonly runner: CommandRunner;
  /** The service that seals and opens every value. */
  readonly encryption: EncryptionService;
  /** The prefix every key starts with. */
  readonly keyPrefix: string;
  readonly #keys: KeySpace;

  constructor(options: RedisBackendOptions) {
    const { sendCommand, encryptionService, keyPrefix = 'ssm:', commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS } = options;
    if (typeof sendCommand !== 'function') throw new RedisStoreInputError('sendCommand', 'a function (args) => Promise<reply>');
    if (typeof encryptionService?.encrypt !== 'function') throw new RedisStoreInputError('encryptionService', 'an EncryptionService');
    if (typeof keyPrefix !== 'string') throw new RedisStoreInputError('keyPrefix', 'a string');
    requirePositive('commandTimeoutMs', commandTimeoutMs, MAX_TIMER_MS);
    this.runner = new CommandRunner(sendCommand, commandTimeoutMs);
    this.encryption = encryptionService;
    this.keyPrefix = keyPrefix;
    this.#keys = new KeySpace(keyPrefix, encryptionService);
  }

  /** The key names, derived from the service's secret (nothing is stored in Redis). */
  names(): Promise<KeyNames> {
    return this.#keys.names();
  }

  /** Runs a command; shorthand for `runner.call`. */
  call(args: string[]): Promise<unknown> {
    return this.runner.call(args);
  }
}
