import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { legacyEncryptToFile } from './legacy-recipe.js';
import { countFailures, totalOf, type PartResult } from './part-result.js';
import type { Progress } from './progress.js';

/** Part 1: the old recipe, `ops` saves of one file at once. The race shows as ENOENT. */
export async function runLegacyPart(dir: string, ops: number, progress: Progress): Promise<PartResult> {
  const filePath = path.join(dir, 'legacy', 'oauth_sessions.enc');
  await mkdir(path.dirname(filePath), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  const started = performance.now();
  let done = 0;
  progress.update('old recipe saves', done, ops);
  const outcomes = await Promise.allSettled(
    Array.from({ length: ops }, (_, index) =>
      legacyEncryptToFile(secret, snapshot(index), filePath).finally(() => progress.update('old recipe saves', ++done, ops)),
    ),
  );
  const failures = countFailures(outcomes);
  const failed = totalOf(failures);
  const codes = Object.keys(failures).join(', ');
  return {
    id: 'old-recipe',
    name: 'old recipe',
    operations: ops,
    failed,
    failures,
    writes: ops - failed,
    lockWait: null,
    wallMs: performance.now() - started,
    isOk: failed === 0,
    isExpectedToHold: false,
    detail:
      'the code this library replaces: scrypt per save, one fixed <file>.tmp, no lock. ' +
      (failed > 0
        ? `${failed} of ${ops} saves failed with ${codes}: when one save renames the shared temp file away, ` +
          'the next rename finds nothing.'
        : 'No collision this run (try a larger --ops).'),
  };
}

/** A store-sized snapshot whose content says which save wrote it. */
export function snapshot(index: number): string {
  return JSON.stringify({ version: 1, save: index, sessions: Array.from({ length: 20 }, (_, i) => ({ i, pad: 'x'.repeat(64) })) });
}
