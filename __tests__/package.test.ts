/**
 * Packaging (issue: a package that ships only the library): `npm pack`
 * ships exactly the built library (ESM and CommonJS, with types), README,
 * LICENSE and CHANGELOG; no demo, no sources, no source maps; the manifest
 * has conditional exports with `types` first, a `prepack` that builds, and no
 * invented URLs. Needs the build (`npm run build`; `npm test` does it).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;

/** lib/**.ts outside lib/demo, as paths relative to lib without the extension. */
function libraryModules(directory = path.join(root, 'lib')): string[] {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'demo' ? [] : libraryModules(full);
    return entry.name.endsWith('.ts') ? [path.relative(path.join(root, 'lib'), full).slice(0, -'.ts'.length).split(path.sep).join('/')] : [];
  });
}

function packedFiles(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    // --ignore-scripts: prepack would rebuild; this test checks the build already made.
    execFile(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, timeout: 120_000, maxBuffer: 8 << 20 }, (error, stdout) => {
      if (error !== null) return reject(error);
      const [report] = JSON.parse(stdout) as { files: { path: string }[] }[];
      resolve(report!.files.map((file) => file.path).sort());
    });
  });
}

test('npm pack ships exactly the library (ESM + CommonJS, .js + .d.ts), its README, LICENSE and CHANGELOG', async () => {
  const modules = libraryModules();
  expect(modules).toContain('index');
  expect(modules).toContain('testing');
  const expected = [
    'CHANGELOG.md',
    'LICENSE',
    'README.md',
    'package.json',
    'dist/cjs/package.json',
    ...modules.flatMap((module) => [`dist/${module}.js`, `dist/${module}.d.ts`, `dist/cjs/${module}.js`, `dist/cjs/${module}.d.ts`]),
  ].sort();
  const packed = await packedFiles();
  // A stale build (a module since removed) shows up here: run `npm run clean && npm run build`.
  expect(packed).toEqual(expected);
  expect(packed.filter((file) => file.endsWith('.map') || file.startsWith('lib/') || file.includes('demo'))).toEqual([]);
}, 130_000);

test('no shipped file points at a source map', () => {
  const shipped = libraryModules().flatMap((module) => [`dist/${module}.js`, `dist/cjs/${module}.js`, `dist/${module}.d.ts`]);
  const pointing = shipped.filter((file) => fs.readFileSync(path.join(root, file), 'utf8').includes('sourceMappingURL'));
  expect(pointing).toEqual([]);
});

test('the manifest: conditional exports with types first, CommonJS nested package, prepack builds, the migration bin only, no invented URLs', () => {
  const exportsField = manifest.exports as Record<string, unknown>;
  expect(Object.keys(exportsField)).toEqual(['.', './testing', './redis', './package.json']);
  for (const [subpath, base] of [['.', 'index'], ['./testing', 'testing'], ['./redis', 'redis/index']] as const) {
    expect(exportsField[subpath]).toEqual({
      import: { types: `./dist/${base}.d.ts`, default: `./dist/${base}.js` },
      require: { types: `./dist/cjs/${base}.d.ts`, default: `./dist/cjs/${base}.js` },
    });
    for (const condition of Object.values(exportsField[subpath] as Record<string, object>)) expect(Object.keys(condition)[0]).toBe('types');
  }
  expect(JSON.parse(fs.readFileSync(path.join(root, 'dist', 'cjs', 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  expect(manifest).toMatchObject({ type: 'module', main: './dist/cjs/index.js', types: './dist/cjs/index.d.ts', license: 'MIT', sideEffects: false });
  expect((manifest.scripts as Record<string, string>).prepack).toMatch(/npm run build/);
  expect(manifest.bin).toEqual({ 'session-store-mutex': 'dist/redis/cli/bin.js' });
  expect(manifest.dependencies).toBeUndefined();
  // The project has no public repository, homepage or tracker yet: none is made up.
  expect(['repository', 'homepage', 'bugs'].filter((field) => field in manifest)).toEqual([]);
  expect(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} session-store-mutex contributors\n/);
});
