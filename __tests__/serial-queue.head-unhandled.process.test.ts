/**
 * NFR-8 on the reworked head path (ee6c345): a failing run whose promise the
 * caller drops is an unhandled rejection, wherever the run sits; a handled one
 * is never reported, and nothing the queue derives internally is either.
 * Real child processes on the BUILT package with --unhandled-rejections=strict
 * (build first: `npx tsc -p tsconfig.build.json`).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const DIST = path.join(__dirname, '..', 'dist', 'index.js');

function runScript(lines: readonly string[], options = '{}'): { status: number | null; stderr: string } {
  const script = [
    `import { SerialQueue } from ${JSON.stringify(pathToFileURL(DIST).href)};`,
    `const queue = new SerialQueue(${options});`,
    'const later = () => new Promise((resolve) => setTimeout(resolve, 5));',
    ...lines,
  ].join('\n');
  const env = { ...process.env };
  delete env.NODE_DEBUG;
  const child = spawnSync(process.execPath, ['--unhandled-rejections=strict', '--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 30_000 });
  return { status: child.status, stderr: child.stderr };
}

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
});

const DROPPED: readonly (readonly [string, readonly string[], string?])[] = [
  ['an idle key, async function throws', ["void queue.run('k', async () => { await later(); throw new Error('dropped failure'); });"]],
  ['an idle key, returned rejected promise', ["void queue.run('k', () => Promise.reject(new Error('dropped failure')));"]],
  ['an idle key, thrown synchronously', ["void queue.run('k', () => { throw new Error('dropped failure'); });"]],
  ['an idle key, a thenable that rejects', ["void queue.run('k', () => ({ then: (_, fail) => fail(new Error('dropped failure')) }));"]],
  ['the head, with a run waiting behind it', ["void queue.run('k', () => Promise.reject(new Error('dropped failure')));", "queue.run('k', () => 1).catch(() => undefined);"]],
  ['a run behind another, thrown synchronously', ["void queue.run('k', later);", "void queue.run('k', () => { throw new Error('dropped failure'); });"]],
  ['a run made inside the head\'s sync start', ["queue.run('k', () => { void queue.run('k', () => Promise.reject(new Error('dropped failure'))); return 1; }).catch(() => undefined);"]],
  ['a run with a live signal, behind another', ["void queue.run('k', later);", "void queue.run('k', () => Promise.reject(new Error('dropped failure')), { signal: new AbortController().signal });"]],
  ['a head with detectReentry', ["void queue.run('k', () => { throw new Error('dropped failure'); });"], '{ detectReentry: true }'],
  ['a waiting run with detectReentry', ["void queue.run('k', later);", "void queue.run('k', async () => { throw new Error('dropped failure'); });"], '{ detectReentry: true }'],
];

for (const [where, lines, options] of DROPPED) {
  test(`NFR-8 a failing run dropped by its caller, on ${where}, is an unhandled rejection (strict: exit 1)`, () => {
    const { status, stderr } = runScript(lines, options);
    expect(stderr).toContain('dropped failure');
    expect(status).toBe(1);
  });
}

const HANDLED: readonly (readonly [string, readonly string[], string?])[] = [
  [
    'a failing head and failing waiters, all caught, some inside the head\'s sync start',
    [
      "queue.run('k', () => { queue.run('k', () => Promise.reject(new Error('x'))).catch(() => undefined); throw new Error('x'); }).catch(() => undefined);",
      "queue.run('k', async () => { throw new Error('x'); }).catch(() => undefined);",
      'await queue.onIdle();',
    ],
  ],
  ['a failure caught with try/await in an async caller', ["try { await queue.run('k', () => Promise.reject(new Error('x'))); } catch {}", "try { await queue.run('k', () => { throw new Error('x'); }); } catch {}"]],
  [
    'a failing head and an aborted waiter, both caught',
    [
      'const controller = new AbortController();',
      "queue.run('k', () => later().then(() => { throw new Error('x'); })).catch(() => undefined);",
      "queue.run('k', () => 1, { signal: controller.signal }).catch(() => undefined);",
      'controller.abort();',
      'await queue.onIdle();',
    ],
  ],
  ['failures caught with detectReentry, one re-entrant', ["queue.run('k', () => { queue.run('k', () => 1).catch(() => undefined); throw new Error('x'); }).catch(() => undefined);", 'await queue.onIdle();'], '{ detectReentry: true }'],
  ['a failure caught in a later microtask, before the microtask queue drains', ["const p = queue.run('k', () => Promise.reject(new Error('x')));", 'await Promise.resolve(); await Promise.resolve();', 'p.catch(() => undefined);']],
];

for (const [what, lines, options] of HANDLED) {
  test(`NFR-8 control: ${what} exits 0 with nothing on stderr`, () => {
    expect(runScript(lines, options)).toEqual({ status: 0, stderr: '' });
  });
}
