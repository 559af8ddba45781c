#!/usr/bin/env node
// The demonstration (`npm start`): not shipped with the package.
import { rmSync } from 'node:fs';
import { main } from './main.js';
import type { WorkDir } from './work-dir.js';

let workDir: WorkDir | undefined;
// Ctrl-C mid-run must not leave the working directory behind either.
for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
  process.once(signal, () => {
    if (workDir !== undefined) rmSync(workDir.path, { recursive: true, force: true });
    process.exit(128 + number);
  });
}

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  onWorkDir: (dir) => {
    workDir = dir;
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
