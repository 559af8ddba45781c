/**
 * The `session-store-mutex/redis` subpath, as a user imports it from the BUILT
 * package (package.json "exports"; run the build first): its runtime names,
 * nothing running at import, and no runtime dependency (not even the Redis client).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

test('the subpath resolves through "exports" and exports exactly its documented runtime names, and starts nothing at import', () => {
  const script = `
    const redis = await import('session-store-mutex/redis');
    const handles = process.getActiveResourcesInfo().filter((kind) => /Timeout|Immediate|TCP|Pipe|Signal/.test(kind));
    console.log(JSON.stringify({ names: Object.keys(redis).sort(), handles }));
  `;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  const { names, handles } = JSON.parse(output.trim().split('\n').pop()!) as { names: string[]; handles: string[] };
  expect(names).toEqual(
    [
      'MigrationSourceError',
      'RedisBackend',
      'RedisClientStore',
      'RedisRecordError',
      'RedisRefreshTokenStore',
      'RedisReplyError',
      'RedisSessionStore',
      'RedisKeyPrefixError',
      'AlreadyMigratedError',
      'InvalidArgumentError',
      'OptionRangeError',
      'RedisTimeoutError',
      'RedisUnavailableError',
      'migrateFilesToRedis',
    ].sort(),
  );
  expect(handles).toEqual([]);
});

test('the built Redis layer imports only Node built-ins and its own package (no runtime dependency)', () => {
  const dist = path.join(ROOT, 'dist', 'redis');
  const specifiers = fs
    .readdirSync(dist)
    .filter((name) => name.endsWith('.js'))
    .flatMap((name) => [...fs.readFileSync(path.join(dist, name), 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((match) => match[1]!));
  expect(specifiers.length).toBeGreaterThan(10);
  expect(specifiers.filter((specifier) => !specifier.startsWith('node:') && !specifier.startsWith('.'))).toEqual([]);
});
