// Mutation testing of the library's core (issue 16): `npm run mutate`, or one
// scope at a time with `MUTATE_SCOPE=queue|locks|files|process-lock|stores|engine npm run mutate`.
// Kept out of `npm test`: every mutant re-runs the tests that cover it, and on
// two shared cores a full run takes hours; a scope runs only the suites that
// pin its files down (the store suites also cover the queue, but run slowly,
// so they do not run against queue mutants). Incremental mode re-tests only
// mutants whose code or covering tests changed since the scope's last run.
// Scores per file, and the mutants left alive on purpose: docs/CONTRIBUTING.md.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The in-process suites that drive the stores (the scopes `stores` and `engine`). */
const STORE_SUITES = [
  'stores-{catch-up,checkpoint,client,concurrency,fresh-stamp,journal,journal-format,load,merge,refresh-token,save-coalescer,session,short-reads,snapshot-reader,unsaved,validation,wrong-key,durability}',
  // The engine's own suites (StoreEngine, StoreSync and the readers driven directly).
  'stores-engine-{read,read-sync,write,write-checkpoint,write-files}',
  'shutdown',
  'reliability.{faults,bad-files}',
  'writers.scenarios',
  // The stores' option handling (debounce delays past the timer limit) and the original's usage patterns.
  'options',
  'compat.stores',
];

/**
 * Jest settings for runs of the store suites alone. Their tests spend two thirds of their time
 * in scrypt, so it runs at a lower cost (fast-scrypt.cjs says why that changes no outcome). And a
 * mutant that makes a save hang fails its test after 5 s (the slowest store test takes 0.7 s)
 * instead of waiting out Stryker's timeout and a runner restart (60 s in jest.config.js, for
 * the process suites): a third of the first mutants hung.
 */
const STORE_RUN = { setupFiles: ['<rootDir>/.stryker/fast-scrypt.cjs'], testTimeout: 5_000 };

/** Each scope: the files it mutates and the suites (__tests__/<name>.test.ts globs) that run against them. */
const SCOPES = {
  queue: {
    mutate: ['lib/queue/*.ts'],
    // In-memory suites only: the model test (reliability.queue-model) and serial-queue.scale take seconds per mutant.
    tests: ['serial-queue.{abort,context,core,edges,episodes,head,idle,index,metrics,ordering,review,running,warnings}', 'review.issue12-{aborts,hostile,waits}', 'review.issue12b-{arguments,thenables,warnings}', 'options'],
  },
  // Every FileLocks mutant re-runs suites that fsync real files (one has 1,000 saves): a scope of its own.
  locks: {
    mutate: ['lib/files/file-locks.ts'],
    tests: ['encryption-locks'],
  },
  files: {
    mutate: [
      'lib/files/atomic-write.ts',
      'lib/files/temp-sweep.ts',
      'lib/encryption/crypto-format.ts',
    ],
    // Not encryption-locks (1,000 fsynced saves per covering mutant): FileLocks has its own scope.
    // files-hardening pins the fsync of directories the atomic write creates.
    tests: ['encryption-{atomic-write,faults,format,read,sweep,key}', 'files-hardening', 'reliability.faults'],
  },
  // The cross-process lock, against its in-process suites (fake timers, real files); the
  // *.process suites that run it across processes load the built package and cannot kill mutants.
  'process-lock': {
    mutate: [
      'lib/files/process-lock.ts',
      'lib/files/held-lock.ts',
      'lib/files/lock-entry.ts',
      'lib/files/lock-staleness.ts',
      'lib/files/lock-wait.ts',
      'lib/files/takeover-lock.ts',
    ],
    tests: ['files-{process-lock,hardening,lock-parts}'],
  },
  // The stores' persistence and, in a scope of its own (a run of both does not fit a session), the
  // engine under it (issues 9 and 15: journal, merge, checkpoint). In-process suites only: the
  // fast-check models (stores-model, writers.model) take seconds per mutant, and the *.process,
  // stores.processes and writers.process suites load the built package, which is not mutated.
  stores: {
    mutate: ['lib/stores/save-coalescer.ts', 'lib/stores/debounce.ts', 'lib/stores/store-persistence.ts'],
    tests: STORE_SUITES,
  },
  engine: {
    mutate: [
      'lib/stores/store-engine.ts',
      'lib/stores/store-sync.ts',
      'lib/stores/store-image.ts',
      'lib/stores/store-writes.ts',
      'lib/stores/journal-format.ts',
      'lib/stores/journal-reader.ts',
      'lib/stores/checkpoint.ts',
      'lib/stores/snapshot-reader.ts',
    ],
    tests: STORE_SUITES,
  },
};

// A mutant of the stores' path resolution sends a store to its default file under ~/.sage: the
// test runners (child processes, which inherit this environment) get a home of their own.
process.env.HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'stryker-home-'));

const scope = process.env.MUTATE_SCOPE;
if (scope !== undefined && !(scope in SCOPES)) throw new Error(`MUTATE_SCOPE must be one of ${Object.keys(SCOPES).join(', ')}`);
const chosen = scope === undefined ? Object.values(SCOPES) : [SCOPES[scope]];
// A run narrowed with --mutate can keep its incremental file and report apart: MUTATE_TAG=<name>.
const tag = process.env.MUTATE_TAG ?? scope ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: true,
    config: {
      // jest.config.js roots the haste map at __tests__ only; --findRelatedTests needs lib/ in it too.
      roots: ['<rootDir>/__tests__', '<rootDir>/lib'],
      // Suites that spawn processes load the BUILT package, which Stryker does not mutate.
      testMatch: [...new Set(chosen.flatMap((s) => s.tests))].map((name) => `**/__tests__/${name}.test.ts`),
      testPathIgnorePatterns: ['/node_modules/', '\\.process\\.test\\.ts$'],
      ...(chosen.every((s) => s.tests === STORE_SUITES) ? STORE_RUN : {}),
    },
  },
  coverageAnalysis: 'perTest',
  // The machine is shared: one test runner at a time.
  concurrency: 1,
  timeoutMS: 8_000,
  incremental: true,
  incrementalFile: `.stryker/incremental-${tag}.json`,
  tempDirName: '.stryker/tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `.stryker/reports/mutation-${tag}.json` },
  thresholds: { high: 95, low: 90, break: null },
  mutate: chosen.flatMap((s) => s.mutate),
};
