#!/usr/bin/env node
// `npm run bench [-- [--repeat N] [--save] [word ...]]`: runs every
// bench/*.bench.mjs (or those whose name contains a word) in its own fresh
// `node --expose-gc` process, N times each, interleaved; times a CPU probe and
// samples the load average around each, so the report can say when the
// machine was too noisy to judge a target; prints one Markdown report.
//
// Every run writes bench/results/ (git-ignored): latest.json, latest.md and
// ratios.svg. `--save` (full runs only) also updates the committed copy in
// bench/snapshot/, which the README shows: changing the published numbers is
// a deliberate act, never a side effect of running the bench.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.mjs';
import { mergeRepetitions } from './merge.mjs';
import { loadNow, probe, summariseNoise } from './noise.mjs';
import { renderMarkdown, withVerdicts } from './report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOAD_SAMPLE_MS = 2_000;
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;

function usage(message) {
  process.stderr.write(`bench: ${message} (usage: node bench/run.mjs [--repeat N] [--save] [word ...])\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { repeat: 1, isSave: false, words: [] };
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index];
    if (token === '--save') options.isSave = true;
    else if (token === '--repeat' || token.startsWith('--repeat=')) {
      const value = token.includes('=') ? token.slice(token.indexOf('=') + 1) : argv[++index];
      if (!/^[1-9][0-9]*$/.test(value ?? '')) usage(`--repeat takes a whole number from 1, got ${JSON.stringify(value)}`);
      options.repeat = Number(value);
    } else if (token.startsWith('-')) usage(`unknown flag ${token}`);
    else options.words.push(token);
  }
  if (options.isSave && options.words.length > 0) usage('--save publishes a full run: drop the file filter');
  return options;
}

/** Runs one bench file; resolves to its parsed last stdout line, sampling the load average meanwhile. */
function runFile(file, loads) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(here, file)], {
      cwd: path.dirname(here),
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: CHILD_TIMEOUT_MS,
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    const sampler = setInterval(() => loads.push(loadNow()), LOAD_SAMPLE_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearInterval(sampler);
      if (code !== 0) return reject(new Error(`exit ${code ?? signal}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? ''));
      } catch (error) {
        reject(new Error(`its last stdout line is not the JSON report (${error.message})`));
      }
    });
  });
}

const options = parseArgs(process.argv.slice(2));
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.mjs'))
  .filter((name) => options.words.length === 0 || options.words.some((word) => name.includes(word)))
  .sort();
if (files.length === 0) usage(`no bench file matches ${options.words.join(' ')}`);

const cores = os.cpus().length;
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown cpu',
  cores,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  date: new Date().toISOString().slice(0, 10),
};

const started = performance.now();
const perFile = new Map(files.map((file) => [file, { reports: [], probeMs: [], loads: [], error: undefined }]));
for (let repetition = 1; repetition <= options.repeat; repetition += 1) {
  for (const file of files) {
    const state = perFile.get(file);
    if (state.error !== undefined) continue;
    process.stderr.write(`bench: ${file}${options.repeat > 1 ? ` (repetition ${repetition} of ${options.repeat})` : ''}\n`);
    state.loads.push(loadNow());
    state.probeMs.push(...probe());
    try {
      state.reports.push(await runFile(file, state.loads));
    } catch (error) {
      state.error = error;
    }
    state.loads.push(loadNow());
    state.probeMs.push(...probe());
  }
}

let isFailed = false;
const sections = files.map((file) => {
  const { reports, probeMs, loads, error } = perFile.get(file);
  const noise = summariseNoise({ probeMs, loads, cores });
  if (error !== undefined || reports.length === 0) {
    isFailed = true;
    return { file, section: file, rows: [], checks: [], notes: [`failed: ${error?.message ?? 'no report'}`], noise };
  }
  return { file, ...mergeRepetitions(reports), noise };
});

const report = withVerdicts({ machine, run: { repeat: options.repeat, seconds: Math.round((performance.now() - started) / 1000), files }, sections });
const markdown = renderMarkdown(report);
const outputs = [path.join(here, 'results')];
if (options.isSave && !isFailed) outputs.push(path.join(here, 'snapshot'));
for (const dir of outputs) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.md'), markdown);
  writeFileSync(path.join(dir, 'ratios.svg'), renderChart(report));
}
process.stdout.write(markdown);
process.stderr.write(`bench: wrote ${outputs.map((dir) => path.relative(process.cwd(), dir) || '.').join(' and ')}${options.isSave && isFailed ? ' (not bench/snapshot: a bench file failed)' : ''}\n`);
process.exitCode = isFailed ? 1 : 0;
