#!/usr/bin/env node
// The package's command: `session-store-mutex migrate-to-redis …` (package.json "bin").
import { main } from './main.js';

main(process.argv.slice(2), process).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Only an unexpected bug lands here; its class, never its text (which could quote input).
    process.stderr.write(`session-store-mutex: internal error (${error instanceof Error ? error.name : typeof error})\n`);
    process.exitCode = 1;
  },
);
