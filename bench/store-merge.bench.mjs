// Issue 9's budgets for many writers, in one run (durable writes):
// - getSession hit with fresh reads when nothing changed (two stats);
// - one coalesced save including the merge (lock, catch-up, write) beside
//   today's durable save of the same store (encryptToFile of its snapshot);
// - 1,000 concurrent createSession + flush(): writes counted at the seam;
// - four processes hammering one session store: saves/s, p99 latency, and
//   the share of the latency that is waiting for the others (contended mean
//   minus the uncontended mean, over the contended mean).
// Run with `hammer <dir> <ms>` it is one of the hammering processes.
// Progress on stderr, one JSON report as the last stdout line (bench/run.mjs).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EncryptionService, PersistentSessionStore } from '../dist/index.js';
import { nodeFileSystem } from '../dist/testing.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const round2 = (value) => Math.round(value * 100) / 100;
const log = (text) => process.stderr.write(`  ${text}\n`);

async function service(dir, counter) {
  const fileSystem = counter === undefined ? undefined : {
    open: async (file, flags, mode) => {
      const handle = await nodeFileSystem.open(file, flags, mode);
      if (flags === 'a') counter.writes += 1;
      return handle;
    },
    rename: async (from, to) => {
      await nodeFileSystem.rename(from, to);
      counter.writes += 1;
    },
  };
  const instance = new EncryptionService({ encryptionKey: 'bench-key', keyStoragePath: path.join(dir, 'key'), logger: silent }, { fileSystem });
  await instance.initialize();
  return instance;
}

/** One hammering process: createSession + flush() back to back for `ms`, printing each save's latency. */
async function hammer(dir, ms) {
  const store = new PersistentSessionStore(await service(dir), path.join(dir, 'oauth_sessions.enc'), { maxSessions: 1_000_000, logger: silent });
  const latencies = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const started = performance.now();
    store.createSession('hammer');
    await store.flush();
    latencies.push(performance.now() - started);
  }
  process.stdout.write(`${JSON.stringify(latencies)}\n`);
}

async function hammering(dir, processes, ms) {
  const self = fileURLToPath(import.meta.url);
  const runs = Array.from({ length: processes }, () => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, 'hammer', dir, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`hammer exit ${code}`))));
  }));
  return (await Promise.all(runs)).flat();
}

if (process.argv[2] === 'hammer') {
  await hammer(process.argv[3], Number(process.argv[4]));
  process.exit(0);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ssm-bench-merge-'));
const rows = [];
const checks = [];
try {
  const file = path.join(dir, 'oauth_sessions.enc');
  const writer = await service(dir);
  const store = new PersistentSessionStore(writer, file, { maxSessions: 1_000_000, logger: silent });
  const ids = Array.from({ length: 100 }, (_, index) => store.createSession(`user-${index}`).sessionId);
  await store.flush();

  // getSession hit, nothing changed: batches of 10,000 calls, per-call time of each batch.
  const batches = [];
  for (let batch = 0; batch < 30; batch += 1) {
    const started = performance.now();
    for (let index = 0; index < 10_000; index += 1) store.getSession(ids[index % ids.length]);
    batches.push(((performance.now() - started) * 1000) / 10_000);
  }
  const hit = quantile(batches, 0.5);
  log(`getSession hit: ${hit.toFixed(2)} µs p50`);

  // One save (change + flush, lock + catch-up + whole-file write of a small store) vs today's durable save of the same snapshot.
  const saves = [];
  const plain = [];
  const { readFileSync } = await import('node:fs');
  const other = path.join(dir, 'plain.enc');
  for (let index = 0; index < 40; index += 1) {
    let started = performance.now();
    store.createSession(`extra-${index}`);
    await store.flush();
    saves.push(performance.now() - started);
    const snapshot = await writer.decrypt(readFileSync(file, 'utf8'));
    started = performance.now();
    await writer.encryptToFile(snapshot, other);
    plain.push(performance.now() - started);
  }
  const save = quantile(saves, 0.5);
  const durable = quantile(plain, 0.5);
  log(`save incl. merge ${save.toFixed(2)} ms p50, durable save ${durable.toFixed(2)} ms p50`);

  // 1,000 concurrent createSession + flush(): writes counted at the seam.
  const counter = { writes: 0 };
  const burstFile = path.join(dir, 'burst.enc');
  const burst = new PersistentSessionStore(await service(dir, counter), burstFile, { maxSessions: 1_000_000, logger: silent });
  for (let index = 0; index < 1000; index += 1) burst.createSession(`burst-${index}`);
  await burst.flush();
  log(`1,000 createSession + flush: ${counter.writes} writes`);

  // Four processes hammering one store, and one alone for the uncontended baseline.
  const hammerDir = mkdtempSync(path.join(os.tmpdir(), 'ssm-bench-hammer-'));
  let alone;
  let four;
  try {
    alone = await hammering(hammerDir, 1, 2000);
    four = await hammering(hammerDir, 4, 4000);
  } finally {
    rmSync(hammerDir, { recursive: true, force: true });
  }
  const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const savesPerSecond = four.length / 4;
  const lockShare = Math.max(0, (mean(four) - mean(alone)) / mean(four));
  log(`four processes: ${savesPerSecond.toFixed(0)} saves/s, p99 ${quantile(four, 0.99).toFixed(1)} ms, waiting share ${(lockShare * 100).toFixed(0)} %`);

  rows.push(
    { name: 'getSession hit, nothing changed', impl: 'fresh reads (two stats)', value: round2(hit), unit: 'µs p50' },
    { name: 'one change + flush, 100 sessions', impl: 'save incl. lock + merge', value: round2(save), unit: 'ms p50' },
    { name: 'one change + flush, 100 sessions', impl: 'durable save before (encryptToFile)', value: round2(durable), unit: 'ms p50' },
    { name: '1,000 concurrent createSession + flush()', impl: 'PersistentSessionStore', value: counter.writes, unit: 'writes' },
    { name: 'four processes hammering one store', impl: 'all four', value: round2(savesPerSecond), unit: 'saves/s' },
    { name: 'four processes hammering one store', impl: 'per save', value: round2(quantile(four, 0.99)), unit: 'ms p99' },
    { name: 'four processes hammering one store', impl: 'per save', value: round2(quantile(four, 0.5)), unit: 'ms p50' },
    { name: 'one process alone', impl: 'per save', value: round2(quantile(alone, 0.5)), unit: 'ms p50' },
    { name: 'four processes: share of latency spent waiting for the others', impl: '(mean4 - mean1) / mean4', value: round2(lockShare * 100), unit: '%' },
  );
  checks.push(
    { name: 'getSession hit with fresh reads (µs p50)', ratio: round2(hit), target: '<= 10', met: hit <= 10 },
    { name: 'save incl. merge / durable save', ratio: round2(save / durable), target: '<= 2', met: save / durable <= 2 },
    { name: '1,000 concurrent createSession + flush(): writes', ratio: counter.writes, target: '<= 3', met: counter.writes <= 3 },
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({
  section: 'Many writers (issue 9): fresh reads, merged saves, four processes',
  rows,
  checks,
  notes: [
    `durable writes on ${os.tmpdir()}; the save incl. merge takes the in-process queue and the cross-process lock, stats the files, and rewrites the small store; the durable save is encryptToFile of the same snapshot to another file`,
    'hammering: each process runs createSession + flush() back to back (2 s alone, then 4 s with four); the waiting share is an estimate from the two means',
  ],
})}\n`);
