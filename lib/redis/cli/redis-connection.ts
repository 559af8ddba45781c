/**
 * A Redis connection for the command, from the user's own client: `redis`
 * (node-redis) first, else `ioredis`, imported at run time so the package
 * keeps zero runtime dependencies (both are optional peer dependencies).
 */
import { errorCode } from '../../files/fs-seam.js';
import { replyPrefix, type SendCommand } from '../command-runner.js';
import { RedisReplyError, RedisUnavailableError } from '../redis-errors.js';
import { RedisClientMissingError } from './cli-errors.js';

/** A connected client reduced to what the migration needs. */
export interface RedisConnection {
  readonly sendCommand: SendCommand;
  /** Waits for pending replies, then closes the socket. */
  close(): Promise<void>;
}

/** The client package found, ready to connect. */
export interface RedisClientPackage {
  readonly clientName: 'redis' | 'ioredis';
  /**
   * Connects once (no reconnection). Rejects with RedisUnavailableError or
   * RedisReplyError (e.g. `WRONGPASS`); no message quotes the URL.
   */
  connect(url: string): Promise<RedisConnection>;
}

/** Imports a package by name; `(name) => import(name)` in real use. */
export type ImportModule = (specifier: string) => Promise<unknown>;

/** The first connection attempt's limit; the command never reconnects. */
const CONNECT_TIMEOUT_MS = 5000;

interface NodeRedisClient {
  on(event: 'error', listener: () => void): unknown;
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  close?: () => Promise<unknown>;
  quit?: () => Promise<unknown>;
}

interface IoRedisClient {
  on(event: 'error', listener: () => void): unknown;
  connect(): Promise<unknown>;
  call(...args: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
}

type IoRedisConstructor = new (url: string, options: object) => IoRedisClient;

const importPackage: ImportModule = (specifier) => import(specifier);

/**
 * Imports `redis`, else `ioredis`, resolved from this package's own
 * directory. Rejects with RedisClientMissingError (`ERR_REDIS_CLIENT_MISSING`)
 * when neither is installed.
 */
export async function loadRedisClient(importModule: ImportModule = importPackage): Promise<RedisClientPackage> {
  const nodeRedis = await importOptional(importModule, 'redis');
  if (nodeRedis !== undefined) return { clientName: 'redis', connect: (url) => connectNodeRedis(nodeRedis, url) };
  const ioredis = await importOptional(importModule, 'ioredis');
  if (ioredis !== undefined) return { clientName: 'ioredis', connect: (url) => connectIoRedis(ioredis, url) };
  throw new RedisClientMissingError();
}

async function importOptional(importModule: ImportModule, specifier: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await importModule(specifier)) as Record<string, unknown>;
  } catch (error) {
    const code = errorCode(error);
    // ESM says ERR_MODULE_NOT_FOUND, require (jest) MODULE_NOT_FOUND.
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

async function connectNodeRedis(module: Record<string, unknown>, url: string): Promise<RedisConnection> {
  const createClient = module.createClient as ((options: object) => NodeRedisClient) | undefined;
  if (typeof createClient !== 'function') throw new RedisClientMissingError();
  // One attempt, no reconnection: a command-line run should fail, not wait forever.
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: CONNECT_TIMEOUT_MS } });
  client.on('error', () => {
    // Failures reach us through connect() and each command; without a listener node-redis would throw.
  });
  await connectOrWrap(() => client.connect());
  return {
    sendCommand: (args) => client.sendCommand(args),
    close: async () => {
      await (typeof client.close === 'function' ? client.close() : client.quit?.());
    },
  };
}

async function connectIoRedis(module: Record<string, unknown>, url: string): Promise<RedisConnection> {
  // ioredis is CommonJS: the class is the default export (and a named `Redis` since v5).
  const Redis = (module.Redis ?? module.default) as IoRedisConstructor | undefined;
  if (typeof Redis !== 'function') throw new RedisClientMissingError();
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: CONNECT_TIMEOUT_MS });
  client.on('error', () => {
    // As above: reported through connect() and the commands.
  });
  await connectOrWrap(() => client.connect());
  return {
    sendCommand: (args) => client.call(...args),
    close: async () => {
      await client.quit();
    },
  };
}

async function connectOrWrap(connect: () => Promise<unknown>): Promise<void> {
  try {
    await connect();
  } catch (error) {
    // The client's own error may carry the connection's arguments (a password among them):
    // only its name and code ride along as the cause.
    const cause = { name: error instanceof Error ? error.name : typeof error, code: errorCode(error) };
    const prefix = replyPrefix(error);
    if (prefix !== undefined) throw new RedisReplyError('CONNECT', prefix, cause);
    throw new RedisUnavailableError('CONNECT', errorCode(error) ?? 'connection failed', cause);
  }
}
