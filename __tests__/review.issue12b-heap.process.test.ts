/**
 * Second outsider review of issue 12, in child processes on the BUILT dist/
 * (build first: `npx tsc -p tsconfig.build.json`; fixture review12b-queue.mjs):
 * a key kept busy keeps no settled task's value, reason or abort reason alive
 * (NFR-3) now that the first waiter goes behind a gate, and failing runs whose
 * callers drop them are still unhandled rejections, each once (NFR-8).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const DIST = path.join(__dirname, '..', 'dist', 'index.js');
const fixture = path.join(__dirname, 'fixtures', 'review12b-queue.mjs');

function runFixture(mode: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.NODE_DEBUG;
    execFile(process.execPath, ['--expose-gc', fixture, mode], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`${error.message}\n${stderr.slice(-2000)}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null'));
    });
  });
}

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
});

describe('review 12b: a key kept busy, in a child process (NFR-3, NFR-8)', () => {
  test('NFR-3: 200 tasks on one key that never goes idle: no settled value is still reachable while it is busy', async () => {
    expect(await runFixture('memory-plain')).toEqual({ whileBusy: { made: 200, live: 0, depth: 1 }, afterIdle: { live: 0, size: 0 } });
  }, 40_000);

  test('NFR-3: the same with rejections, own-then promises, synchronous throws, signals and aborted runs with big reasons', async () => {
    // 200 task values and 67 abort reasons (every third step of 200); the first would-be leaver finds
    // the key idle, so its task runs at once (one more value) and its abort changes nothing.
    expect(await runFixture('memory-mixed')).toEqual({ whileBusy: { made: 268, live: 0, depth: 1 }, afterIdle: { live: 0, size: 0 } });
  }, 40_000);

  test('NFR-8: every dropped failing run is an unhandled rejection once, handled ones are not, with and without detectReentry', async () => {
    const kinds = ['busy own-then', 'busy reject', 'busy signal', 'busy thenable', 'busy throw', 'idle own-then', 'idle reject', 'idle thenable', 'idle throw'];
    const expected = [...kinds.map((kind) => `reentry ${kind}`), ...kinds].sort();
    expect(await runFixture('unhandled')).toEqual(expected);
  }, 40_000);
});
