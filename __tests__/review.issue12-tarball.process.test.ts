/**
 * Outsider review of issue 12 point 4, as a user installs the package: the
 * tarball `npm pack` makes (from the build already made: `npm run build`),
 * installed offline into a fresh project, then the main entry and the
 * `./testing` subpath loaded from ESM and from CommonJS (README: both work
 * on Node 20), in real child processes. FR-3.1 (drop-in as consumers load it).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: 120_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}

let project: string;
let packDir: string;

beforeAll(async () => {
  packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'review12-pack-'));
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'review12-project-'));
  // --ignore-scripts: prepack would rebuild; the tarball is made from the build already made.
  const [report] = JSON.parse(await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], root)) as { filename: string }[];
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'review12-consumer', version: '1.0.0', private: true }));
  await run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(packDir, report!.filename)], project);
}, 240_000);

afterAll(() => {
  for (const dir of [packDir, project]) if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

const consumer = `
  const done = [];
  const queue = new main.SerialQueue();
  await Promise.all([1, 2, 3].map((i) => queue.run('k', async () => void done.push(i))));
  console.log(JSON.stringify({
    main: Object.keys(main).sort(),
    testing: Object.keys(testing).sort(),
    done,
    size: queue.size,
    reentry: await new main.SerialQueue({ detectReentry: true }).run('k', () => undefined).then(() => 'ok'),
  }));
`;

test('FR-3.1: the installed tarball loads from ESM (import) and CommonJS (require) on this Node, main entry and ./testing alike', async () => {
  fs.writeFileSync(
    path.join(project, 'esm.mjs'),
    `import * as main from 'session-store-mutex';\nimport * as testing from 'session-store-mutex/testing';\n${consumer}`,
  );
  fs.writeFileSync(
    path.join(project, 'cjs.cjs'),
    `const main = require('session-store-mutex');\nconst testing = require('session-store-mutex/testing');\n(async () => {${consumer}})();`,
  );
  const esm = JSON.parse(await run(process.execPath, ['esm.mjs'], project)) as Record<string, unknown>;
  const cjs = JSON.parse(await run(process.execPath, ['cjs.cjs'], project)) as Record<string, unknown>;
  expect(esm).toEqual(cjs);
  expect(esm).toMatchObject({ testing: ['nodeFileSystem', 'scryptKey'], done: [1, 2, 3], size: 0, reentry: 'ok' });
  expect(esm['main']).toEqual(expect.arrayContaining(['SerialQueue', 'EncryptionService', 'PersistentSessionStore', 'shutdown']));
  expect(esm['main']).not.toContain('nodeFileSystem');
  const installed = path.join(project, 'node_modules', 'session-store-mutex');
  expect(fs.readdirSync(installed).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'package.json']);
  expect(fs.existsSync(path.join(installed, 'dist', 'demo'))).toBe(false);
  expect(fs.existsSync(path.join(installed, 'dist', 'cjs', 'demo'))).toBe(false);
}, 60_000);

test('FR-3.1: the installed bin is the migration CLI and prints its usage', async () => {
  const bin = path.join(project, 'node_modules', '.bin', 'session-store-mutex');
  expect(await run(bin, ['--help'], project)).toMatch(/^usage: session-store-mutex migrate-to-redis /);
}, 60_000);
