#!/usr/bin/env node
// The demonstration (`npm start`): not shipped with the package.
import { rmSync } from 'node:fs';
import { main } from './main.js';
import type { WorkDir } from './work-dir.js';

let workDir: WorkDir | undefined;
let isWorkDirSettled = false;
let pendingSignal: NodeJS.Signals | undefined;

function stop(signal: NodeJS.Signals): void {
  // Retries: a save still in flight on the thread pool may add a file while the tree is being removed.
  if (workDir !== undefined) rmSync(workDir.path, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  // Re-raised with the default action rather than process.exit(): exit would first drain
  // libuv's thread pool, which can hold thousands of queued scrypt calls of the old recipe.
  process.kill(process.pid, signal);
}

// Ctrl-C, a kill or a closed terminal mid-run must not leave the working directory behind either.
for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // The directory may exist on disk before its creation is reported here: wait for that report.
    if (isWorkDirSettled) stop(signal);
    else pendingSignal = signal;
  });
}

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  onWorkDir: (dir) => {
    workDir = dir;
    isWorkDirSettled = true;
    if (pendingSignal !== undefined) stop(pendingSignal);
  },
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`session-store-mutex: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 1;
  },
);
