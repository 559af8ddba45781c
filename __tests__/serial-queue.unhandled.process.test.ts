/**
 * NFR-8: a failing run whose promise the caller drops must surface as an
 * unhandled rejection, as a plain async call would (async-lock and
 * async-mutex do too). The queue's own tail handles the task's promise, so
 * the caller gets a promise derived from it, which nothing else handles.
 * Real child processes on the BUILT package (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(path.join(__dirname, '..', 'dist', 'index.js')).href;

function runScript(lines: readonly string[]): { status: number | null; stderr: string } {
  const script = [`import { SerialQueue } from ${JSON.stringify(dist)};`, 'const queue = new SerialQueue();', ...lines].join('\n');
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { status: child.status, stderr: child.stderr };
}

test.each([
  ['on an idle key', ["void queue.run('k', () => Promise.reject(new Error('dropped failure')));"]],
  ['on a key it waits for', ["void queue.run('k', () => new Promise((resolve) => setTimeout(resolve, 10)));", "void queue.run('k', () => Promise.reject(new Error('dropped failure')));"]],
  ['thrown synchronously', ["void queue.run('k', () => { throw new Error('dropped failure'); });"]],
])('NFR-8 a failing run %s whose promise is dropped is an unhandled rejection (exit 1)', (_, lines) => {
  const { status, stderr } = runScript(lines);
  expect(stderr).toContain('dropped failure');
  expect(status).toBe(1);
});

test('control: the same run with its rejection handled exits 0', () => {
  const { status, stderr } = runScript(["queue.run('k', () => Promise.reject(new Error('handled failure'))).catch(() => undefined);"]);
  expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
});
