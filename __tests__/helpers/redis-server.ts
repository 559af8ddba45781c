/**
 * A private redis-server for one test file: a free loopback port, a fresh
 * temporary directory, no config file (so no system persistence settings),
 * `--save ''`, and AOF only when asked. Real Redis, never a mock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { createClient } from 'redis';
import { makeTempDir } from './common.js';

export interface RedisServerOptions {
  /** `appendonly yes` with `appendfsync always`: every write acknowledged is on disk. */
  isDurable?: boolean;
}

export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts again on the same port and directory (AOF replays when durable). */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

/** A port the kernel just handed out on 127.0.0.1; another process may take it first, so start retries. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function launch(port: number, dir: string, isDurable: boolean): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', isDurable ? 'yes' : 'no', '--appendfsync', 'always', '--daemonize', 'no', '--logfile', '',
    '--protected-mode', 'yes', '--loglevel', 'notice', '--enable-debug-command', 'local',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms: ${output.slice(-500)}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a redis-server; call `stop()` in afterAll. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const isDurable = options.isDurable ?? false;
  const dir = makeTempDir('ssm-redis-');
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; child === undefined; attempt += 1) {
    port = await freePort();
    try {
      child = await launch(port, dir, isDurable);
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
  let current: ChildProcess = child;
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      current.kill('SIGKILL');
      await exited(current);
    },
    async restart() {
      current = await launch(port, dir, isDurable);
    },
    async stop() {
      current.kill('SIGKILL');
      await exited(current);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/**
 * A connected node-redis client. `RESP` defaults to the client's default (3 in
 * node-redis 6); 2 gives the reply shapes of ioredis and of node-redis 4 and 5.
 */
export async function connectClient(url: string, RESP?: 2 | 3) {
  const client = createClient({ url, RESP, socket: { reconnectStrategy: (retries) => Math.min(50 * (retries + 1), 200) } });
  client.on('error', () => {
    // Reported through the commands that fail; without a listener node-redis would throw.
  });
  await client.connect();
  return client;
}
