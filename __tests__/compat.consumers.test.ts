/**
 * FR-3.1 drop-in, as consumers load the package (issue: module format): a
 * CommonJS project under ts-jest's default set-up (type-checked, including
 * its `jest.mock('fs')` / `jest.mock('fs/promises')` tests, which must never
 * reach the real disk), a plain `require` consumer and an ESM `import`
 * consumer, each a real child process against the built `dist/` (run
 * `npm run build` first; `npm test` does).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir } from './helpers/common.js';

const root = path.resolve(__dirname, '..');
const consumers = path.join(__dirname, 'fixtures', 'consumers');
const tsJestProject = path.join(consumers, 'ts-jest');

let dir: string;
beforeAll(() => {
  for (const built of ['dist/index.js', 'dist/cjs/index.js', 'dist/cjs/package.json']) {
    if (!fs.existsSync(path.join(root, built))) throw new Error(`${built} is missing: run \`npm run build\` before this test`);
  }
  // The ts-jest project finds the package the way an installed dependency is found.
  const link = path.join(tsJestProject, 'node_modules', 'session-store-mutex');
  fs.mkdirSync(path.dirname(link), { recursive: true });
  try {
    fs.symlinkSync(root, link, 'dir');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
});
beforeEach(() => {
  dir = makeTempDir('ssm-consumer-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: options.cwd ?? root, env: options.env ?? process.env, timeout: options.timeout, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

test("a CommonJS project under ts-jest's default set-up loads, type-checks and passes, and its fs mocks never touch the disk", async () => {
  const probe = path.join(dir, 'probe');
  fs.mkdirSync(probe);
  const jestBin = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
  const environment: NodeJS.ProcessEnv = { ...process.env, SSM_PROBE_DIR: probe };
  delete environment.SAGE_ENCRYPTION_KEY;
  const result = await run([jestBin, '--ci', '--rootDir', tsJestProject, '--config', path.join(tsJestProject, 'jest.config.cjs')], {
    cwd: tsJestProject,
    env: environment,
    timeout: 280_000,
  });
  expect({ code: result.code, output: result.code === 0 ? '' : result.stderr + result.stdout }).toEqual({ code: 0, output: '' });
  expect(result.stderr).toMatch(/Tests:\s+5 passed, 5 total/);
  expect(fs.readdirSync(probe)).toEqual([]);
}, 300_000);

test('a plain require() consumer gets the CommonJS build, with the testing subpath', async () => {
  const result = await run([path.join(consumers, 'node', 'consumer.cjs'), dir], { timeout: 30_000 });
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(result.stdout)).toEqual({
    resolved: path.join(root, 'dist', 'cjs', 'index.js'),
    exports: 23,
    testing: ['nodeFileSystem', 'scryptKey'],
    keySource: 'generated',
  });
});

test('an ESM import consumer gets the ESM build, with the testing subpath', async () => {
  const result = await run([path.join(consumers, 'node', 'consumer.mjs'), dir], { timeout: 30_000 });
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(result.stdout)).toEqual({
    resolved: path.join(root, 'dist', 'index.js'),
    exports: 23,
    testing: ['nodeFileSystem', 'scryptKey'],
    token: 43,
    keySource: 'generated',
  });
});
