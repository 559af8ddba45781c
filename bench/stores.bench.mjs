// Stores: 1,000 concurrent createSession calls then flush(), durable writes
// (fsync file and directory). Counts the file writes the session store
// performs and the wall time, beside a naive store that saves on every
// change through the same EncryptionService (so it is serialised, not racy,
// just uncollapsed). Prints progress to stderr and one JSON report as the last
// stdout line (see bench/run.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EncryptionService, PersistentSessionStore } from '../dist/index.js';
import { nodeFileSystem } from '../dist/testing.js';

const SESSIONS = 1000;
const ROUNDS = 5;
const NAIVE_ROUNDS = 1;
const silent = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * A service whose file writes are counted at its file-system seam: every
 * published file (rename) and journal append. The stores no longer write
 * through encryptToFile (they write under the file's lock), the naive store does.
 */
async function countingService(dir) {
  const counter = { writes: 0 };
  const fileSystem = {
    rename: async (from, to) => {
      await nodeFileSystem.rename(from, to);
      counter.writes += 1;
    },
    open: async (file, flags, mode) => {
      const handle = await nodeFileSystem.open(file, flags, mode);
      if (flags === 'a') counter.writes += 1;
      return handle;
    },
  };
  const service = new EncryptionService({ encryptionKey: 'bench-key', keyStoragePath: path.join(dir, 'key'), logger: silent, durable: true }, { fileSystem });
  await service.initialize();
  return { service, counter };
}

/** The seed's pattern with the lock but without collapsing: every change writes the whole store. */
class NaiveSessionStore {
  #sessions = new Map();
  #saves = [];
  constructor(service, filePath) {
    this.service = service;
    this.filePath = filePath;
  }
  createSession(userId) {
    const createdAt = Date.now();
    const session = { sessionId: `${createdAt}-${this.#sessions.size}`, userId, createdAt, expiresAt: createdAt + 86_400_000 };
    this.#sessions.set(session.sessionId, session);
    this.#saves.push(this.service.encryptToFile(JSON.stringify({ version: 1, sessions: [...this.#sessions.values()] }), this.filePath));
    return session;
  }
  async flush() {
    await Promise.all(this.#saves);
  }
}

async function round(makeStore) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ssm-bench-stores-'));
  try {
    const { service, counter } = await countingService(dir);
    const store = makeStore(service, path.join(dir, 'oauth_sessions.enc'));
    globalThis.gc?.();
    const started = performance.now();
    for (let index = 0; index < SESSIONS; index += 1) store.createSession(`user-${index}`);
    await store.flush();
    const wallMs = performance.now() - started;
    return { wallMs, writes: counter.writes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// For an even count, the lower of the two middle values.
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

async function measure(name, rounds, makeStore) {
  const results = [];
  for (let index = 0; index < rounds; index += 1) {
    results.push(await round(makeStore));
    process.stderr.write(`  ${name} round ${index + 1}/${rounds}: ${results.at(-1).writes} writes, ${results.at(-1).wallMs.toFixed(1)} ms\n`);
  }
  return { wallMs: median(results.map((result) => result.wallMs)), writes: Math.max(...results.map((result) => result.writes)) };
}

await round((service, filePath) => new PersistentSessionStore(service, filePath, { maxSessions: SESSIONS, logger: silent }));
const store = await measure('PersistentSessionStore', ROUNDS, (service, filePath) =>
  new PersistentSessionStore(service, filePath, { maxSessions: SESSIONS, logger: silent }));
const naive = await measure('save on every change', NAIVE_ROUNDS, (service, filePath) => new NaiveSessionStore(service, filePath));

const report = {
  section: 'Stores: 1,000 concurrent createSession then flush() (durable)',
  rows: [
    { name: 'file writes', impl: 'PersistentSessionStore', value: store.writes, unit: 'writes' },
    { name: 'wall time', impl: 'PersistentSessionStore', value: store.wallMs, unit: 'ms' },
    { name: 'file writes', impl: 'save on every change', value: naive.writes, unit: 'writes' },
    { name: 'wall time', impl: 'save on every change', value: naive.wallMs, unit: 'ms' },
  ],
  checks: [
    // isCount: a ratio of counts, which machine noise cannot move (see bench/verdict.mjs).
    { name: 'writes: save-on-every-change / store', ratio: naive.writes / store.writes, target: '>= 500', met: store.writes <= 2 && naive.writes / store.writes >= 500, isCount: true },
    { name: 'wall time: save-on-every-change / store', ratio: naive.wallMs / store.wallMs, target: '>= 10', met: naive.wallMs / store.wallMs >= 10 },
  ],
  notes: [
    `wall time: median of ${ROUNDS} rounds (store), ${NAIVE_ROUNDS} round (naive, it is slow); writes: the most seen in any round`,
    'both write through one EncryptionService with durable: true (fsync of file and directory), so the naive store is serialised, not racy',
  ],
};
process.stdout.write(`${JSON.stringify(report)}\n`);
