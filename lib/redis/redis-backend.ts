import type { EncryptionService } from '../encryption/encryption-service.js';
import { CommandRunner, DEFAULT_COMMAND_TIMEOUT_MS, type SendCommand } from './command-runner.js';
import { KeySpace, type KeyNames } from './key-space.js';
import { InvalidArgumentError } from '../stores/store-errors.js';
import { numberOption } from '../support/options.js';
import { RedisKeyPrefixError } from './redis-errors.js';

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
  /**
   * Prepended to every key, so several servers can share one Redis. Default
   * `ssm:`. Must not be empty, and prefixes sharing one Redis must not nest
   * (`app:` and `app:ti:`): `cleanup()` scans `<prefix>ti:*`.
   */
  keyPrefix?: string;
  /** Longest wait for one reply before rejecting with `ERR_REDIS_TIMEOUT`. Default 2000. */
  commandTimeoutMs?: number;
}

/** setTimeout's largest delay (a longer one fires at once), from 1 ms up. */
const COMMAND_TIMEOUT_MS = Object.freeze({ min: 1, max: 2 ** 31 - 1, unit: 'ms' });

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
    if (typeof sendCommand !== 'function') throw new InvalidArgumentError('options.sendCommand', 'a function (args) => Promise<reply>', sendCommand);
    if (typeof encryptionService?.encrypt !== 'function') throw new InvalidArgumentError('options.encryptionService', 'an EncryptionService', encryptionService);
    if (typeof keyPrefix !== 'string') throw new InvalidArgumentError('options.keyPrefix', 'a string', keyPrefix);
    // An empty prefix would make cleanup() scan `ti:*` across the whole database: other applications' keys.
    if (keyPrefix === '') throw new RedisKeyPrefixError();
    this.runner = new CommandRunner(sendCommand, numberOption('commandTimeoutMs', commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS, COMMAND_TIMEOUT_MS));
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
