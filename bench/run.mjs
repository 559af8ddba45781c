#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.mjs in its own fresh process (so
// nothing one of them switches on, such as async hooks, slows another),
// gathers their JSON reports, prints one Markdown report and writes
// bench/results/latest.json plus bench/results/ratios.svg.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMarkdown, renderSvg } from './report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.mjs'))
  .filter((name) => only.length === 0 || only.some((word) => name.includes(word)))
  .sort();

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown cpu',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  date: new Date().toISOString().slice(0, 10),
};

const sections = [];
let failed = false;
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  const child = spawnSync(process.execPath, ['--expose-gc', path.join(here, file)], {
    cwd: path.dirname(here),
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 10 * 60 * 1000,
  });
  const lastLine = child.stdout.trim().split('\n').at(-1) ?? '';
  try {
    if (child.status !== 0) throw new Error(`exit ${child.status ?? child.signal}`);
    sections.push({ file, ...JSON.parse(lastLine) });
  } catch (error) {
    failed = true;
    sections.push({ file, section: file, rows: [], checks: [], notes: [`failed: ${error.message}`] });
  }
}

const report = { machine, sections };
const resultsDir = path.join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
if (only.length === 0) {
  writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, 'ratios.svg'), renderSvg(report));
}
process.stdout.write(renderMarkdown(report));
process.exitCode = failed ? 1 : 0;
