/**
 * The one seam to Redis: the caller's `sendCommand`, bounded by a timeout,
 * with every failure turned into a typed error. The library holds no client
 * and no socket, so it has no runtime dependency and works with any client
 * that can send a raw command.
 */
import { RedisReplyError, RedisTimeoutError, RedisUnavailableError } from './redis-errors.js';

/**
 * Sends one command (`['SET', key, value, 'PXAT', '…']`) and resolves with
 * Redis's reply as the client decodes it: a string, a number, null or an array
 * (RESP2 shapes). Rejects when Redis answers with an error or the connection fails.
 */
export type SendCommand = (args: string[]) => Promise<unknown>;

/** Default limit on one command's round trip. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

/** Error replies that mean "not now" rather than "wrong command": the operation may succeed later. */
const UNAVAILABLE_PREFIXES = new Set(['LOADING', 'BUSY', 'READONLY', 'MASTERDOWN', 'MISCONF', 'TRYAGAIN', 'CLUSTERDOWN', 'NOREPLICAS']);

/** A Redis error reply starts with an upper-case code (`WRONGTYPE Operation…`); client-side failures do not. */
const REPLY_PREFIX = /^([A-Z][A-Z_]{1,31})(?: |$)/;

/** The reply prefix of an error that Redis sent, or undefined for a client-side failure. */
export function replyPrefix(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  return REPLY_PREFIX.exec(error.message)?.[1];
}

/** Runs commands through `sendCommand`, one timeout each. */
export class CommandRunner {
  readonly #send: SendCommand;
  readonly #timeoutMs: number;

  constructor(send: SendCommand, timeoutMs: number) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * The reply, or a rejection with RedisTimeoutError, RedisUnavailableError or
   * RedisReplyError. Resolves only when Redis replied: nothing is acknowledged
   * on the client's word alone.
   */
  call(args: string[]): Promise<unknown> {
    const command = (args[0] ?? '').toUpperCase();
    let sent: Promise<unknown>;
    try {
      sent = this.#send(args);
    } catch (error) {
      // A client that throws instead of rejecting (a closed client) is a rejection like any other.
      return Promise.reject(classify(command, error));
    }
    // One promise and one timer per command: this sits on every round trip (getSession's budget is 1.5x a bare GET).
    return new Promise((settleWith, reject) => {
      const timer = setTimeout(() => reject(new RedisTimeoutError(command, this.#timeoutMs)), this.#timeoutMs);
      Promise.resolve(sent).then(
        (reply) => {
          clearTimeout(timer);
          settleWith(reply);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(classify(command, error));
        },
      );
    });
  }
}

function classify(command: string, error: unknown): Error {
  const prefix = replyPrefix(error);
  if (prefix === undefined) return new RedisUnavailableError(command, describe(error), error);
  if (UNAVAILABLE_PREFIXES.has(prefix)) return new RedisUnavailableError(command, `server answered ${prefix}`, error);
  return new RedisReplyError(command, prefix, error);
}

/** A connection failure's code or class, never its message (it may quote arguments). */
function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (error instanceof Error) return error.constructor.name === 'Error' ? 'connection failed' : error.constructor.name;
  }
  return 'connection failed';
}
