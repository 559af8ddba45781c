/**
 * bench/run.mjs (issue 14), run on a copy of the bench modules beside fake
 * bench files in a temp directory: it discovers every *.bench.mjs, keeps the
 * JSON line protocol of docs/CONTRIBUTING.md, writes only the git-ignored
 * results/ unless --save, and rejects bad flags with one line and exit 2.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTempDir } from './helpers/common.js';

const BENCH = path.join(__dirname, '..', 'bench');
const MODULES = ['run.mjs', 'chart.mjs', 'merge.mjs', 'noise.mjs', 'report.mjs', 'verdict.mjs'];
const CHILD_TIMEOUT_MS = 60_000;

/** A bench file that follows the protocol: progress on stderr, other stdout first, the JSON report last. */
const fakeBench = (section: string, ratio: number): string =>
  `process.stderr.write('progress\\n');\nconsole.log('a line that is not the report');\n` +
  `console.log(JSON.stringify({ section: ${JSON.stringify(section)}, rows: [{ name: 'm', impl: 'x', value: ${ratio}, unit: 'ms' }], ` +
  `checks: [{ name: '${section} check', ratio: ${ratio}, target: '>= 2', met: ${ratio >= 2} }], notes: ['from ${section}'] }));\n`;

let dir: string;
let bench: string;
beforeEach(() => {
  dir = makeTempDir('ssm-bench-run-');
  bench = path.join(dir, 'bench');
  fs.mkdirSync(bench);
  for (const name of MODULES) fs.copyFileSync(path.join(BENCH, name), path.join(bench, name));
  fs.writeFileSync(path.join(bench, 'alpha.bench.mjs'), fakeBench('Alpha', 5));
  fs.writeFileSync(path.join(bench, 'beta.bench.mjs'), fakeBench('Beta', 1.5));
  fs.writeFileSync(path.join(bench, 'helper.mjs'), 'throw new Error("not a bench file: never run");\n');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, [path.join(bench, 'run.mjs'), ...args], { cwd: dir, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

interface SavedReport {
  run: { repeat: number; files: string[] };
  sections: { file: string; section: string; rows: { samples: number[] }[]; checks: { verdict: string }[]; noise: { noisy: boolean; factor: number; cores: number } }[];
}

const readReport = (where: string): SavedReport => JSON.parse(fs.readFileSync(path.join(bench, where, 'latest.json'), 'utf8')) as SavedReport;

test('every *.bench.mjs is discovered and run; results/ gets JSON, Markdown and the chart; --save publishes the same to snapshot/', () => {
  const { status, stdout } = run('--save');
  expect(status).toBe(0);
  expect(stdout).toContain('### Alpha');
  expect(stdout).toContain('### Beta');
  expect(stdout).toMatch(/^Noise: |\*\*Noisy machine\*\*/m);
  const report = readReport('results');
  expect(report.run.files).toEqual(['alpha.bench.mjs', 'beta.bench.mjs']);
  expect(report.sections.map((section) => section.section)).toEqual(['Alpha', 'Beta']);
  expect(report.sections[0]!.noise.cores).toBe(os.cpus().length);
  expect(['met', 'unsure']).toContain(report.sections[0]!.checks[0]!.verdict);
  expect(['missed', 'unsure']).toContain(report.sections[1]!.checks[0]!.verdict);
  for (const where of ['results', 'snapshot']) {
    expect(fs.readdirSync(path.join(bench, where)).sort()).toEqual(['latest.json', 'latest.md', 'ratios.svg']);
  }
  expect(fs.readFileSync(path.join(bench, 'snapshot', 'latest.md'), 'utf8')).toBe(stdout);
});

test('--save with a file filter refuses in one line (exit 2): a snapshot is a full run', () => {
  const filtered = run('--save', 'alpha');
  expect(filtered.status).toBe(2);
  expect(filtered.stderr).toMatch(/^bench: --save publishes a full run[^\n]+\n$/);
  expect(fs.existsSync(path.join(bench, 'results'))).toBe(false);
  expect(fs.existsSync(path.join(bench, 'snapshot'))).toBe(false);
});

test('a word runs only the matching files; --repeat keeps every repetition\'s value', () => {
  const { status, stdout } = run('--repeat', '2', 'alp');
  expect(status).toBe(0);
  expect(stdout).not.toContain('### Beta');
  expect(stdout).toContain('Run: 2 repetitions of each bench file');
  const report = readReport('results');
  expect(report.run.repeat).toBe(2);
  expect(report.sections[0]!.rows[0]!.samples).toEqual([5, 5]);
  // Without --save only the git-ignored results/ is written.
  expect(fs.existsSync(path.join(bench, 'snapshot'))).toBe(false);
});

test.each([[['--repeat', '0']], [['--repeat', 'x']], [['--nope']], [['no-such-file']]])('%j is one line on stderr and exit 2', (args) => {
  const { status, stderr } = run(...args);
  expect(status).toBe(2);
  expect(stderr).toMatch(/^bench: [^\n]+\n$/);
});

test('a bench file that fails is reported as failed (exit 1) and never published by --save', () => {
  fs.writeFileSync(path.join(bench, 'gamma.bench.mjs'), 'process.exit(3);\n');
  const { status, stdout } = run('--save');
  expect(status).toBe(1);
  expect(stdout).toContain('- failed: exit 3');
  expect(readReport('results').sections.map((section) => section.file)).toEqual(['alpha.bench.mjs', 'beta.bench.mjs', 'gamma.bench.mjs']);
  expect(fs.existsSync(path.join(bench, 'snapshot'))).toBe(false);
});

test('bench/results/ is git-ignored in the repository, so a run never dirties the tree', () => {
  const root = path.join(__dirname, '..');
  expect(execFileSync('git', ['check-ignore', 'bench/results/latest.json'], { cwd: root, encoding: 'utf8' }).trim()).toBe('bench/results/latest.json');
  expect(execFileSync('git', ['ls-files', 'bench/results'], { cwd: root, encoding: 'utf8' })).toBe('');
});
