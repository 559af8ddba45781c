/**
 * Every benchmark imports names that the built package really exports, so
 * `npm run bench` cannot rot silently when an export moves (three benches
 * once imported `nodeFileSystem` from the main entry after it moved to the
 * `testing` entry). The check runs in a plain Node process: the built
 * package is ESM.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.join(__dirname, '..');
const benchDir = path.join(root, 'bench');

/** `import { a, b } from '../dist/x.js'` lines of one bench file, as [specifier, names]. */
function namedImports(file: string): [string, string[]][] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(\.\.\/dist\/[^']+)'/g)].map((match) => [
    match[2]!,
    match[1]!.split(',').map((name) => name.trim().split(/\s+as\s+/)[0]!).filter((name) => name !== ''),
  ]);
}

test('every name a bench imports from the built package exists there (run `npm run build` first)', async () => {
  const wanted = fs
    .readdirSync(benchDir)
    .filter((name) => name.endsWith('.mjs'))
    .flatMap((name) => namedImports(path.join(benchDir, name)).map(([specifier, names]) => ({ bench: name, file: path.resolve(benchDir, specifier), names })));
  expect(wanted.length).toBeGreaterThan(3);
  const script = `
    const wanted = JSON.parse(process.argv[1]);
    const missing = [];
    for (const { bench, file, names } of wanted) {
      const module = await import(file);
      for (const name of names) if (!(name in module)) missing.push(bench + ': ' + name + ' from ' + file);
    }
    process.stdout.write(JSON.stringify(missing));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(wanted)], { cwd: root, timeout: 60_000 });
  expect(JSON.parse(stdout)).toEqual([]);
});
