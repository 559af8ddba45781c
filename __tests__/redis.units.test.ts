/**
 * The two pieces of the Redis layer that need no server: how a failure is
 * classified into a stable code, and the key-name digests. Everything that
 * talks to Redis is tested against a real redis-server in the other redis.* files.
 */
import { createHmac } from 'node:crypto';
import { CommandRunner } from '../lib/redis/command-runner.js';
import { KeyNames } from '../lib/redis/key-space.js';

class ErrorReply extends Error {}

describe('CommandRunner classifies every failure into a stable code', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test.each([
    ['LOADING Redis is loading the dataset in memory', 'ERR_REDIS_UNAVAILABLE'],
    ['READONLY You can\'t write against a read only replica.', 'ERR_REDIS_UNAVAILABLE'],
    ['BUSY Redis is busy running a script.', 'ERR_REDIS_UNAVAILABLE'],
    ['MISCONF Redis is configured to save RDB snapshots', 'ERR_REDIS_UNAVAILABLE'],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'ERR_REDIS_REPLY'],
    ['NOPERM this user has no permissions', 'ERR_REDIS_REPLY'],
    ['Socket closed unexpectedly', 'ERR_REDIS_UNAVAILABLE'],
    ['connect ECONNREFUSED 127.0.0.1:6379', 'ERR_REDIS_UNAVAILABLE'],
  ])('%s -> %s', async (message, code) => {
    const runner = new CommandRunner(() => Promise.reject(new ErrorReply(message)), 1000);
    const error = await runner.call(['get', 'k']).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code, command: 'GET' });
    expect((error as Error).cause).toBeInstanceOf(ErrorReply);
    // The message names the command and the reply prefix only, never arguments or the server's text.
    expect((error as Error).message).not.toContain('127.0.0.1');
  });

  test('a client that throws synchronously rejects with ERR_REDIS_UNAVAILABLE instead of throwing', async () => {
    const runner = new CommandRunner(() => {
      throw new Error('The client is closed');
    }, 1000);
    let promise: Promise<unknown> | undefined;
    expect(() => (promise = runner.call(['SET', 'k', 'v']))).not.toThrow();
    await expect(promise).rejects.toMatchObject({ code: 'ERR_REDIS_UNAVAILABLE', command: 'SET' });
  });

  test('no reply within the limit rejects with ERR_REDIS_TIMEOUT; a reply clears the timer', async () => {
    jest.useFakeTimers();
    const silent = new CommandRunner(() => new Promise(() => {}), 250);
    const pending = silent.call(['GET', 'k']);
    jest.advanceTimersByTime(249);
    let settled = false;
    void pending.catch(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    jest.advanceTimersByTime(1);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_REDIS_TIMEOUT', timeoutMs: 250, command: 'GET' });
    const answering = new CommandRunner(() => Promise.resolve('OK'), 250);
    await expect(answering.call(['SET', 'k', 'v'])).resolves.toBe('OK');
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('KeyNames', () => {
  const hashKey = Buffer.alloc(32, 7);
  const hmac = (input: string): string => createHmac('sha256', hashKey).update(input).digest('base64url');

  test('a name is the prefix, the kind and HMAC-SHA-256 of kind and id; kinds never share a digest', () => {
    const names = new KeyNames('p:', hashKey);
    expect(names.session('abc')).toBe(`p:s:${hmac('session\0abc')}`);
    expect(names.token('abc')).toBe(`p:t:${hmac('token\0abc')}`);
    expect(names.client('abc')).toBe(`p:c:${hmac('client\0abc')}`);
    expect(names.clientTokenIndex('abc')).toBe(`p:ti:${hmac('client\0abc')}`);
    expect(new Set([names.session('abc'), names.token('abc')].map((name) => name.slice(4))).size).toBe(2);
  });

  test('digests stay right past the cache bound (least recently used evicted, recomputed on demand)', () => {
    const names = new KeyNames('p:', hashKey);
    const first = names.session('id-0');
    for (let index = 1; index <= 5000; index += 1) names.session(`id-${index}`);
    expect(names.session('id-0')).toBe(first);
    expect(names.session('id-4999')).toBe(`p:s:${hmac('session\0id-4999')}`);
  });
});
