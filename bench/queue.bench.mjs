/**
 * SerialQueue benchmark (issues 2 and 12): ns per task for
 *   - uncontended: sequential `await run('k', task)` on one key,
 *   - contended:   1,000 and 100,000 tasks queued at once on one key,
 *   - spread:      100,000 keys, one task each, queued at once,
 * for SerialQueue beside a bare `await task()` (no lock at all), async-lock,
 * async-mutex (a Map of Mutex per key, `runExclusive`) and the original
 * server's FileMutex (re-implemented in original-file-mutex.mjs).
 *
 * More measurements back the queue's own choices, each the queue core
 * (lib/queue/tail-queue.ts) with a no-op wait observer, as it is and with
 * one choice undone:
 *   - "queue core": as it is, on every workload; on the contended ones, the
 *     gap to the full queue is what the wait monitor costs;
 *   - "two clock readings per wait": the core with an observer that only
 *     reads the clock when a run starts to wait and when its task starts,
 *     the least that exact wait metrics need (1,000 queued);
 *   - "keys deleted" and "keys deleted, Map": the core with a key index
 *     (generated beside a copy of the core, see coreWith) that deletes
 *     a released key and makes a new chain for each run, with string keys
 *     in a null-prototype dictionary or in a Map, instead of keeping the
 *     released key's chain idle for reuse (lib/queue/tail-index.ts);
 *   - "chain as a class": the core with its chain (lib/queue/tail-chain.ts)
 *     an instance of a class instead of a plain object (generated the same way);
 *   - "deferred start": the real queue with every task wrapped to start one
 *     microtask later, as it would if an idle key's task were chained like a
 *     waiting one instead of starting inside run (uncontended and spread:
 *     every run finds its key idle).
 *
 * Each implementation runs in its own fresh `node --expose-gc` process (this
 * file re-invokes itself with the implementation's name), so nothing one of
 * them switches on (promise hooks, a grown heap) slows another. The parent
 * makes several passes over the implementations, interleaved, so a load
 * spike on a shared machine hits all of them alike; each process warms every
 * scenario up before measuring it, with a GC before each round. Values are
 * medians of wall-clock time per task over all measured rounds. A round
 * slower than SLOW_ROUND_MS is measured once, in the first pass only.
 *
 * Progress goes to stderr; the LAST stdout line is the JSON report described
 * in docs/CONTRIBUTING-HELPERS.md.
 *
 * Usage: npm run build && node --expose-gc bench/queue.bench.mjs
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const IMPLS = ['bare', 'serial-queue', 'async-mutex', 'async-lock', 'original-file-mutex'];
const LOCKS = IMPLS.filter((impl) => impl !== 'bare' && impl !== 'serial-queue');
/** SerialQueue again with a 128 MB semi-space: shows what the contended rows owe to the young-generation GC. */
const BIG_YOUNG_GEN = { impl: 'serial-queue', label: 'serial-queue, semi-space 128 MB', flags: ['--max-semi-space-size=128'] };
/** The queue with one optimisation undone, on the workloads where every run finds its key idle. */
const DEFERRED_START = 'serial-queue, deferred start';
/** The queue core alone, its wait observer a no-op, and two copies of it whose key index deletes released keys. */
const CORE = 'queue core';
const CORE_DELETING = 'queue core, keys deleted';
const CORE_DELETING_MAP = 'queue core, keys deleted, Map';
const CORE_CLASS_CHAIN = 'queue core, chain as a class';
/** The core with the least an exact wait metric needs: one clock reading when a run starts to wait, one when it starts. */
const CORE_CLOCKED = 'queue core, two clock readings per wait';
const PASSES = 3;
const ROUNDS_PER_PASS = 2;
const SLOW_ROUND_MS = 2_000;
const WARMUP_MS = 500;
const MAX_WARMUP_ROUNDS = 8;
const CHILD_TIMEOUT_MS = 60_000;

const UNCONTENDED_TASKS = 100_000;
const SMALL_QUEUE = 1_000;
const SMALL_QUEUE_BATCHES = 100;
const LARGE_QUEUE = 100_000;
const SPREAD_KEYS = 100_000;

const UNCONTENDED = 'uncontended';
const CONTENDED_SMALL = 'contended 1,000 queued';
const CONTENDED_LARGE = 'contended 100,000 queued';
const SPREAD = 'spread 100,000 keys';

const SCENARIOS = [
  { name: UNCONTENDED, tasks: UNCONTENDED_TASKS, run: (run) => uncontended(run) },
  { name: CONTENDED_SMALL, tasks: SMALL_QUEUE * SMALL_QUEUE_BATCHES, run: (run) => contendedBatches(run) },
  { name: CONTENDED_LARGE, tasks: LARGE_QUEUE, run: (run) => contended(run, LARGE_QUEUE) },
  { name: SPREAD, tasks: SPREAD_KEYS, run: (run) => spread(run) },
];

const KEYS = Array.from({ length: SPREAD_KEYS }, (_, i) => `file-${i}`);
const task = async () => 1;

/** Returns a factory of fresh `run(key, task)` functions, one per round, so no state carries over. */
async function loadImplementation(name) {
  switch (name) {
    case 'bare':
      return () => (key, fn) => fn();
    case 'serial-queue': {
      const { SerialQueue } = await import('../dist/index.js');
      // A silent logger: the warning paths still run, but nothing is printed.
      const logger = { warn() {}, debug() {} };
      return () => {
        const queue = new SerialQueue({ logger });
        return (key, fn) => queue.run(key, fn);
      };
    }
    case 'async-mutex': {
      const { Mutex } = await import('async-mutex');
      return () => {
        const mutexes = new Map();
        return (key, fn) => {
          let mutex = mutexes.get(key);
          if (mutex === undefined) mutexes.set(key, (mutex = new Mutex()));
          return mutex.runExclusive(fn);
        };
      };
    }
    case 'async-lock': {
      const { default: AsyncLock } = await import('async-lock');
      return () => {
        // The default maxPending (1,000) would reject the 100,000-task queue.
        const lock = new AsyncLock({ maxPending: Infinity });
        return (key, fn) => lock.acquire(key, fn);
      };
    }
    case CORE:
      return coreFactory(await import('../dist/queue/tail-queue.js'));
    case CORE_CLOCKED:
      return coreFactory(await import('../dist/queue/tail-queue.js'), clockedObserver());
    case CORE_DELETING:
      return coreFactory(await coreWith('tail-index.js', DELETING_INDEX.replaceAll('USE_MAP', 'false')));
    case CORE_DELETING_MAP:
      return coreFactory(await coreWith('tail-index.js', DELETING_INDEX.replaceAll('USE_MAP', 'true')));
    case CORE_CLASS_CHAIN:
      return coreFactory(await coreWith('tail-chain.js', CLASS_CHAIN));
    case DEFERRED_START: {
      const { SerialQueue } = await import('../dist/index.js');
      const logger = { warn() {}, debug() {} };
      return () => {
        const queue = new SerialQueue({ logger });
        return (key, fn) => queue.run(key, () => Promise.resolve().then(fn));
      };
    }
    case 'original-file-mutex': {
      const { OriginalFileMutex } = await import('./original-file-mutex.mjs');
      return () => {
        const mutex = new OriginalFileMutex();
        return (key, fn) => mutex.withLock(key, fn);
      };
    }
    default:
      throw new Error(`unknown implementation ${name}`);
  }
}

async function uncontended(run) {
  for (let i = 0; i < UNCONTENDED_TASKS; i += 1) await run('k', task);
}

async function contended(run, count) {
  const runs = new Array(count);
  for (let i = 0; i < count; i += 1) runs[i] = run('k', task);
  await Promise.all(runs);
}

async function contendedBatches(run) {
  for (let batch = 0; batch < SMALL_QUEUE_BATCHES; batch += 1) await contended(run, SMALL_QUEUE);
}

async function spread(run) {
  const runs = new Array(SPREAD_KEYS);
  for (let i = 0; i < SPREAD_KEYS; i += 1) runs[i] = run(KEYS[i], task);
  await Promise.all(runs);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function timeRound(create, scenario) {
  const run = create();
  globalThis.gc();
  const started = performance.now();
  await scenario.run(run);
  return performance.now() - started;
}

/**
 * Child side: measures the named scenarios for one implementation and prints
 * one JSON line `{ samples: { [scenario]: number[] }, slow: string[] }` (ns/task).
 */
async function measure(name, scenarioNames) {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const create = await loadImplementation(name);
  const samples = {};
  const slow = [];
  for (const scenario of SCENARIOS.filter((s) => scenarioNames.includes(s.name))) {
    const perTask = (ms) => (ms * 1e6) / scenario.tasks;
    const firstMs = await timeRound(create, scenario);
    if (firstMs > SLOW_ROUND_MS) {
      // A multi-second round dwarfs JIT warm-up: it is its own measurement.
      samples[scenario.name] = [perTask(firstMs)];
      slow.push(scenario.name);
      continue;
    }
    // Short rounds get more warm-up, so every implementation is measured with
    // its hot code optimised, not half-way up V8's tiers.
    for (let warm = 1, warmMs = firstMs; warm < MAX_WARMUP_ROUNDS && warmMs < WARMUP_MS; warm += 1) {
      warmMs += await timeRound(create, scenario);
    }
    samples[scenario.name] = [];
    for (let round = 0; round < ROUNDS_PER_PASS; round += 1) samples[scenario.name].push(perTask(await timeRound(create, scenario)));
  }
  process.stdout.write(`${JSON.stringify({ samples, slow })}\n`);
}

/** `run(key, task)` on a fresh core per round, its wait observer a no-op unless one is given. */
function coreFactory({ TailQueue }, observer = { waitBegan: () => ({ end() {} }) }) {
  return () => {
    const core = new TailQueue(observer);
    return (key, fn) => core.run(key, fn);
  };
}

/**
 * An observer that only sums the waits (what `metrics().totalWaitTimeMs` needs): a clock
 * reading when a run starts to wait and one when its task starts, nothing else.
 */
function clockedObserver() {
  const sum = { totalWaitTimeMs: 0 };
  class Wait {
    constructor() {
      this.enqueuedAt = performance.now();
    }
    end(hasStarted) {
      if (hasStarted) sum.totalWaitTimeMs += performance.now() - this.enqueuedAt;
    }
  }
  return { waitBegan: () => new Wait() };
}

/**
 * The key index as it was before released keys kept their chain: a released key is deleted at
 * once, so every run on an idle key makes a new chain. String keys go to a null-prototype
 * dictionary, or with USE_MAP to the Map that holds every other key.
 */
const DELETING_INDEX = `
export const RECLAIM_AFTER = 1024;
export class TailIndex {
  #byString = Object.create(null);
  #byValue = new Map();
  #live = 0;
  get size() { return this.#live; }
  get(key) { return typeof key === 'string' && !USE_MAP ? this.#byString[key] : this.#byValue.get(key); }
  add(key, value) {
    if (typeof key === 'string' && !USE_MAP) this.#byString[key] = value;
    else this.#byValue.set(key, value);
    this.#live += 1;
  }
  revive() { throw new Error('a deleting index never holds an idle chain'); }
  release(key, value) {
    value.isIdle = true;
    this.#live -= 1;
    if (typeof key === 'string' && !USE_MAP) delete this.#byString[key];
    else this.#byValue.delete(key);
  }
}
`;

/**
 * The chain as it was before it became a plain object (lib/queue/tail-chain.ts): the same
 * fields and handlers, on an instance of a class.
 */
const CLASS_CHAIN = `
class TailChain {
  head = undefined;
  tail = undefined;
  depth = 0;
  watch = undefined;
  isIdle = false;
  isNoted = false;
  constructor(key, settleHead) {
    this.key = key;
    this.passValue = (value) => { this.head = undefined; settleHead(this); return value; };
    this.passError = (error) => { this.head = undefined; settleHead(this); throw error; };
  }
}
export const newTailChain = (key, settleHead) => new TailChain(key, settleHead);
`;

/** Imports a copy of the built core with `source` as its file `replaced`; the copy is removed on exit. */
async function coreWith(replaced, source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssm-bench-core-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const built = new URL('../dist/queue/', import.meta.url);
  for (const name of ['tail-queue.js', 'tail-chain.js', 'tail-index.js', 'task-promise.js', 'wait-hooks.js']) {
    if (name !== replaced) fs.copyFileSync(new URL(name, built), path.join(dir, name));
  }
  fs.writeFileSync(path.join(dir, replaced), source);
  return import(pathToFileURL(path.join(dir, 'tail-queue.js')).href);
}

function runChild(impl, scenarioNames, flags = []) {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, ['--expose-gc', ...flags, self, impl, scenarioNames.join('|')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: CHILD_TIMEOUT_MS,
  });
  if (child.status !== 0) throw new Error(`${impl} bench process failed (status ${child.status}, signal ${child.signal})`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1));
}

/** Parent side: interleaved passes of one fresh process per implementation, then rows, checks and notes. */
function orchestrate() {
  const started = performance.now();
  const loadBefore = os.loadavg()[0];
  const runs = [
    ...IMPLS.map((impl) => ({ impl, label: impl, flags: [], scenarios: SCENARIOS.map((s) => s.name) })),
    { ...BIG_YOUNG_GEN, scenarios: [CONTENDED_SMALL, CONTENDED_LARGE] },
    { impl: DEFERRED_START, label: DEFERRED_START, flags: [], scenarios: [UNCONTENDED, SPREAD] },
    { impl: CORE, label: CORE, flags: [], scenarios: SCENARIOS.map((s) => s.name) },
    { impl: CORE_DELETING, label: CORE_DELETING, flags: [], scenarios: [UNCONTENDED, SPREAD] },
    { impl: CORE_DELETING_MAP, label: CORE_DELETING_MAP, flags: [], scenarios: [UNCONTENDED, SPREAD] },
    { impl: CORE_CLASS_CHAIN, label: CORE_CLASS_CHAIN, flags: [], scenarios: [UNCONTENDED, SPREAD] },
    { impl: CORE_CLOCKED, label: CORE_CLOCKED, flags: [], scenarios: [CONTENDED_SMALL] },
  ];
  const samples = Object.fromEntries(runs.map(({ label }) => [label, {}]));
  const slowNotes = [];
  for (let pass = 0; pass < PASSES; pass += 1) {
    process.stderr.write(`pass ${pass + 1} of ${PASSES}:`);
    for (const entry of runs) {
      process.stderr.write(` ${entry.label}`);
      const report = runChild(entry.impl, entry.scenarios, entry.flags);
      for (const [scenario, values] of Object.entries(report.samples)) (samples[entry.label][scenario] ??= []).push(...values);
      for (const scenario of report.slow) slowNotes.push(`${entry.label}, ${scenario}: one round took over ${SLOW_ROUND_MS / 1000} s, so it was measured once, without warm-up, in pass 1 only`);
      entry.scenarios = entry.scenarios.filter((scenario) => !report.slow.includes(scenario));
    }
    process.stderr.write('\n');
  }

  const rows = [];
  for (const scenario of SCENARIOS) {
    for (const { label } of runs) {
      const values = samples[label][scenario.name];
      if (values !== undefined) rows.push({ name: scenario.name, impl: label, value: round(median(values)), unit: 'ns/task', rounds: values.length });
    }
  }
  const ns = (label, scenario) => rows.find((row) => row.impl === label && row.name === scenario).value;
  const check = (name, ratio, target, met) => ({ name, ratio: round(ratio, 2), target, met });
  const ratios = {
    overBare: ns('serial-queue', UNCONTENDED) / ns('bare', UNCONTENDED),
    asyncLockUncontended: ns('async-lock', UNCONTENDED) / ns('serial-queue', UNCONTENDED),
    flat: ns('serial-queue', CONTENDED_LARGE) / ns('serial-queue', CONTENDED_SMALL),
    asyncLockContended: ns('async-lock', CONTENDED_LARGE) / ns('serial-queue', CONTENDED_LARGE),
  };
  const ahead = SCENARIOS.flatMap((scenario) =>
    LOCKS.map((impl) => {
      const ratio = ns(impl, scenario.name) / ns('serial-queue', scenario.name);
      return check(`${scenario.name}: ${impl} / serial-queue`, ratio, '> 1', ratio > 1);
    }),
  );
  const checks = [
    check('uncontended: serial-queue / bare await', ratios.overBare, '<= 3', ratios.overBare <= 3),
    ...ahead,
    check('uncontended: async-lock / serial-queue, at least 2x', ratios.asyncLockUncontended, '>= 2', ratios.asyncLockUncontended >= 2),
    check('contended serial-queue: 100,000 queued / 1,000 queued', ratios.flat, '<= 2', ratios.flat <= 2),
    check('contended 100,000 queued: async-lock / serial-queue, at least 10x', ratios.asyncLockContended, '>= 10', ratios.asyncLockContended >= 10),
  ];
  const gain = (label, scenario) => round(ns(label, scenario) / ns('serial-queue', scenario), 2);
  const gain2 = (label, over, scenario) => round(ns(label, scenario) / ns(over, scenario), 2);
  const internalNotes = [
    `wait monitor (lib/queue/wait-monitor.ts): at 1,000 queued, the queue core with a no-op observer takes ${round(ns(CORE, CONTENDED_SMALL) / ns('async-lock', CONTENDED_SMALL), 2)}x async-lock's time, the core with an observer that only reads the clock when a run starts to wait and when it starts (the least exact wait metrics need) ${round(ns(CORE_CLOCKED, CONTENDED_SMALL) / ns('async-lock', CONTENDED_SMALL), 2)}x, and the full queue ${round(ns('serial-queue', CONTENDED_SMALL) / ns('async-lock', CONTENDED_SMALL), 2)}x: the monitor adds ${round(ns('serial-queue', CONTENDED_SMALL) - ns(CORE, CONTENDED_SMALL))} ns per waiting run, ${round(ns(CORE_CLOCKED, CONTENDED_SMALL) - ns(CORE, CONTENDED_SMALL))} ns of it the two clock readings`,
    `key index (lib/queue/tail-index.ts): deleting a released key and making a new chain per run costs the core ${gain2(CORE_DELETING, CORE, UNCONTENDED)}x its time uncontended (${gain2(CORE_DELETING_MAP, CORE, UNCONTENDED)}x with string keys in a Map) and ${gain2(CORE_DELETING, CORE, SPREAD)}x on spread (${gain2(CORE_DELETING_MAP, CORE, SPREAD)}x with a Map)`,
    `plain-object chain (lib/queue/tail-chain.ts): the same chain as an instance of a class costs the core ${gain2(CORE_CLASS_CHAIN, CORE, UNCONTENDED)}x its time uncontended and ${gain2(CORE_CLASS_CHAIN, CORE, SPREAD)}x on spread`,
    `synchronous start (lib/queue/tail-queue.ts #start): starting an idle key's task one microtask later instead of inside run costs ${gain(DEFERRED_START, UNCONTENDED)}x uncontended and ${gain(DEFERRED_START, SPREAD)}x spread`,
  ];
  const bigYoungFlat = ns(BIG_YOUNG_GEN.label, CONTENDED_LARGE) / ns(BIG_YOUNG_GEN.label, CONTENDED_SMALL);
  const bareFlat = ns('bare', CONTENDED_LARGE) / ns('bare', CONTENDED_SMALL);
  const notes = [
    `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, ${os.platform()} ${os.arch()}; 1-min load average ${loadBefore.toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end`,
    `wall-clock medians over ${PASSES} interleaved passes x ${ROUNDS_PER_PASS} rounds, each after warm-up rounds (500 ms or 8 rounds, whichever comes first), one fresh process per implementation and pass; total ${((performance.now() - started) / 1000).toFixed(0)} s`,
    'bare calls the task with no lock, so its contended and spread rows are a floor, not a queue',
    'serial-queue runs with a no-op logger (default options otherwise); async-lock with maxPending: Infinity; async-mutex keeps one Mutex per key in a Map it never prunes; original-file-mutex is the original server\'s FileMutex algorithm (path.resolve per call, an array of waiters per path, Date.now() per wait), re-implemented in bench/original-file-mutex.mjs, with a no-op logger',
    'contended 1,000 queued is 100 batches of 1,000 tasks, each batch queued at once and awaited',
    `100,000 queued holds 100,000 pending tasks at once: from 1,000 to 100,000 queued, bare grows ${round(bareFlat, 2)}x per task, serial-queue ${round(ratios.flat, 2)}x and serial-queue with --max-semi-space-size=128 ${round(bigYoungFlat, 2)}x` +
      // A conclusion only when this run's numbers carry it: the larger young generation removes at least two thirds of the growth.
      (ratios.flat > 1.5 && bigYoungFlat - 1 <= (ratios.flat - 1) / 3 ? ', so most of the growth is young-generation GC, not queue work' : ''),
    ...internalNotes,
    ...slowNotes,
  ];

  printTable(rows, runs, checks);
  process.stdout.write(`${JSON.stringify({ section: 'SerialQueue', rows, checks, notes })}\n`);
}

function round(value, digits = 1) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function printTable(rows, runs, checks) {
  const labels = runs.map(({ label }) => label);
  process.stderr.write(`\n${'ns/task'.padEnd(26)}${labels.map((label) => label.padStart(Math.max(14, label.length + 2))).join('')}\n`);
  for (const scenario of SCENARIOS) {
    const cells = labels.map((label) => {
      const row = rows.find((r) => r.name === scenario.name && r.impl === label);
      return String(row?.value ?? '-').padStart(Math.max(14, label.length + 2));
    });
    process.stderr.write(`${scenario.name.padEnd(26)}${cells.join('')}\n`);
  }
  for (const { name, ratio, target, met } of checks) process.stderr.write(`${met ? 'met ' : 'MISS'}  ${name}: ${ratio} (target ${target})\n`);
}

const [impl, scenarioList] = process.argv.slice(2);
if (impl === undefined) orchestrate();
else await measure(impl, scenarioList.split('|'));
