#!/usr/bin/env node
// The package's command: `session-store-mutex` (and `npm start`).
import { main } from './main.js';

main(process.argv.slice(2), process).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`session-store-mutex: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
