// Redis against the file backend: ops/s and p50/p99 latency of createSession,
// getSession and rotateToken, in one process and in four processes sharing one
// backend; and getSession on Redis against a bare GET of the same key in the
// same run (target <= 1.5x: about one round trip). Starts its own
// redis-server (loopback, temporary directory, appendonly yes + appendfsync
// always, the durable setting the README recommends). Every operation is
// timed until its backend acknowledged it durably: Redis replied (after its
// fsync), or, for the file stores, the change and a flush() resolved.
// Prints progress to stderr and one JSON report as the last stdout line.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { EncryptionService, PersistentRefreshTokenStore, PersistentSessionStore, asyncRefreshTokenStore, asyncSessionStore } from '../dist/index.js';
import { RedisBackend, RedisRefreshTokenStore, RedisSessionStore } from '../dist/redis/index.js';

const OPS = 600;
const CONCURRENCY = 8;
const GET_ROUNDS = 3000;
const COLD_SESSIONS = 1000;
const KEY = 'bench-redis-key';
const silent = { info() {}, warn() {}, error() {}, debug() {} };

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** Runs `count` calls of `op(i)` with `CONCURRENCY` in flight; returns each latency (ms) and the wall time. */
async function drive(count, op) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      const index = next++;
      const t0 = performance.now();
      await op(index);
      latencies.push(performance.now() - t0);
    }
  }));
  return { latencies, wallMs: performance.now() - started };
}

async function openBackend(kind, shared) {
  const service = new EncryptionService({ encryptionKey: KEY, keyStoragePath: path.join(shared.dir, `key-${process.pid}`), logger: silent, durable: true });
  await service.initialize();
  if (kind === 'redis') {
    const client = createClient({ url: shared.url });
    client.on('error', () => {});
    await client.connect();
    const backend = new RedisBackend({ sendCommand: (args) => client.sendCommand(args), encryptionService: service, keyPrefix: shared.prefix });
    return { client, backend, sessions: new RedisSessionStore(backend), tokens: new RedisRefreshTokenStore(backend, { expirySeconds: 3600 }), close: () => client.close() };
  }
  const sessionsFile = new PersistentSessionStore(service, path.join(shared.dir, 'sessions.enc'), { maxSessions: 100_000, logger: silent });
  const tokensFile = new PersistentRefreshTokenStore({ expirySeconds: 3600, logger: silent }, service, path.join(shared.dir, 'tokens.enc'));
  await Promise.all([sessionsFile.loadFromStorage(), tokensFile.loadFromStorage()]);
  const sessions = asyncSessionStore(sessionsFile);
  const tokens = asyncRefreshTokenStore(tokensFile);
  return { sessions, tokens, close: () => Promise.all([sessions.flush(), tokens.flush()]) };
}

/** The three measured operations on one backend, in this process. */
async function measureKinds(kind, shared) {
  const stores = await openBackend(kind, shared);
  const durable = kind === 'file';
  const create = await drive(OPS, async (index) => {
    await stores.sessions.createSession(`user-${index}`);
    if (durable) await stores.sessions.flush();
  });
  const ids = [];
  for (let index = 0; index < 100; index += 1) ids.push((await stores.sessions.createSession(`reader-${index}`)).sessionId);
  await stores.sessions.flush();
  const get = await drive(OPS, (index) => stores.sessions.getSession(ids[index % ids.length]));
  const tokens = [];
  for (let index = 0; index < OPS; index += 1) tokens.push(await stores.tokens.generateToken({ clientId: 'bench', userId: `u${index}`, scope: 'read' }));
  await stores.tokens.flush();
  const rotate = await drive(OPS, async (index) => {
    await stores.tokens.rotateToken(tokens[index], 'bench');
    if (durable) await stores.tokens.flush();
  });
  await stores.close();
  return { create, get, rotate };
}

function summarize(results) {
  const out = {};
  for (const op of ['create', 'get', 'rotate']) {
    const latencies = results.flatMap((result) => result[op].latencies).sort((a, b) => a - b);
    const wallMs = Math.max(...results.map((result) => result[op].wallMs));
    out[op] = { opsPerSec: (latencies.length / wallMs) * 1000, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
  }
  return out;
}

// ---- child mode: one of four processes --------------------------------------
if (process.argv[2] === '--worker') {
  const { kind, shared } = JSON.parse(process.argv[3]);
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  const result = await measureKinds(kind, shared);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(dir) {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--logfile', ''], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited ${code}`)));
  });
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

async function inFourProcesses(kind, shared) {
  const children = Array.from({ length: 4 }, () => spawn(process.execPath, [fileURLToPath(import.meta.url), '--worker', JSON.stringify({ kind, shared })], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = children.map((child) => {
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    return { ready: new Promise((resolve) => child.stdout.once('data', resolve)), done: new Promise((resolve) => child.on('exit', () => resolve(text))) };
  });
  await Promise.all(outputs.map((output) => output.ready));
  for (const child of children) child.stdin.end('go\n');
  const texts = await Promise.all(outputs.map((output) => output.done));
  return texts.map((text) => JSON.parse(text.trim().split('\n').at(-1)));
}

/**
 * getSession against a bare GET of the same key, interleaved, one at a time
 * (a round trip each). Warm: one session read again and again (its key digest
 * is cached, as for a signed-in user's every request). Cold: sessions created
 * by another backend instance, each read once (every lookup computes its HMAC).
 */
async function getVersusBareGet(shared) {
  const writer = await openBackend('redis', { ...shared, prefix: 'bench-get:' });
  const reader = await openBackend('redis', { ...shared, prefix: 'bench-get:' });
  const warm = await writer.sessions.createSession('reader');
  const cold = [];
  for (let index = 0; index < COLD_SESSIONS; index += 1) cold.push((await writer.sessions.createSession(`cold-${index}`)).sessionId);
  const writerNames = await writer.backend.names();
  const time = async (fn) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const warmStore = [];
  const warmBare = [];
  const warmKey = writerNames.session(warm.sessionId);
  for (let round = 0; round < GET_ROUNDS; round += 1) {
    warmStore.push(await time(() => reader.sessions.getSession(warm.sessionId)));
    warmBare.push(await time(() => reader.client.sendCommand(['GET', warmKey])));
  }
  const coldStore = [];
  const coldBare = [];
  for (const id of cold) {
    coldStore.push(await time(() => reader.sessions.getSession(id)));
    coldBare.push(await time(() => reader.client.sendCommand(['GET', writerNames.session(id)])));
  }
  await Promise.all([writer.close(), reader.close()]);
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return { warm: { store: median(warmStore), bare: median(warmBare) }, cold: { store: median(coldStore), bare: median(coldBare) } };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ssm-bench-redis-'));
const redis = await startRedis(dir);
try {
  const rows = [];
  const results = {};
  for (const kind of ['redis', 'file']) {
    for (const processes of [1, 4]) {
      const shared = { url: redis.url, prefix: `bench-${kind}-${processes}:`, dir: mkdtempSync(path.join(dir, `${kind}-${processes}-`)) };
      process.stderr.write(`  ${kind}, ${processes} process(es)\n`);
      const summary = summarize(processes === 1 ? [await measureKinds(kind, shared)] : await inFourProcesses(kind, shared));
      results[`${kind}-${processes}`] = summary;
      const impl = `${kind === 'redis' ? 'Redis' : 'files'}, ${processes} process${processes === 1 ? '' : 'es'}`;
      for (const op of ['create', 'get', 'rotate']) {
        rows.push({ name: `${op} ops/s`, impl, value: summary[op].opsPerSec, unit: 'ops/s' });
        rows.push({ name: `${op} p50`, impl, value: summary[op].p50, unit: 'ms' });
        rows.push({ name: `${op} p99`, impl, value: summary[op].p99, unit: 'ms' });
      }
    }
  }
  process.stderr.write('  getSession vs bare GET\n');
  const get = await getVersusBareGet({ url: redis.url, dir });
  for (const path of ['warm', 'cold']) {
    rows.push({ name: `getSession p50 (sequential, ${path})`, impl: 'RedisSessionStore', value: get[path].store, unit: 'ms' });
    rows.push({ name: `GET p50 (sequential, ${path})`, impl: 'node-redis sendCommand', value: get[path].bare, unit: 'ms' });
  }
  const report = {
    section: 'Redis vs files: create/get/rotate, one process and four; getSession vs a bare GET',
    rows,
    checks: [
      { name: 'getSession / bare GET (p50, same key, same run; warm)', ratio: get.warm.store / get.warm.bare, target: '<= 1.5', met: get.warm.store / get.warm.bare <= 1.5 },
      { name: 'getSession / bare GET (p50; cold: first lookup of each id in this process)', ratio: get.cold.store / get.cold.bare, target: '<= 1.5', met: get.cold.store / get.cold.bare <= 1.5 },
    ],
    notes: [
      `${OPS} operations per kind per process, ${CONCURRENCY} in flight; latency until durably acknowledged (Redis: appendfsync always; files: the change then flush(), durable fsync)`,
      'files, 4 processes: the four share the same files; before the many-writers work (cross-process merge) they overwrite each other, so that row is cost only, not a correct shared setup',
      `getSession vs GET: interleaved, one at a time; warm: median of ${GET_ROUNDS} reads of one session (digest cached); cold: ${COLD_SESSIONS} sessions written by another backend instance, each read once (HMAC computed)`,
    ],
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
