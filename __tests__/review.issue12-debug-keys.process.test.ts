/**
 * Outsider review of issue 12: the slow-wait debug line (NFR-2) of the
 * DEFAULT logger (`NODE_DEBUG=session-store-mutex`), in a real child process
 * (fixture review12-debug-keys.mjs, needs the build), for keys JSON cannot
 * render: a BigInt, a circular object, an object whose toJSON throws.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

const fixture = path.join(__dirname, 'fixtures', 'review12-debug-keys.mjs');

function runFixture(kind: string): Promise<{ stdout: string; debugLines: string[] }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_DEBUG: 'session-store-mutex' };
    execFile(process.execPath, [fixture, kind], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null) return reject(error);
      resolve({ stdout, debugLines: stderr.split('\n').filter((line) => line.includes('task started after a slow wait')) });
    });
  });
}

describe('review of issue 12: slow-wait debug lines for any key (NFR-2)', () => {
  test('NFR-2: a string key gives its one debug line, with key and waitedMs', async () => {
    const { stdout, debugLines } = await runFixture('string');
    expect(JSON.parse(stdout)).toEqual({ result: 'ran' });
    expect(debugLines).toHaveLength(1);
    expect(debugLines[0]).toMatch(/task started after a slow wait \{"key":"plain-key","waitedMs":\d/);
  }, 30_000);

  // Review finding (review-12 #3), fixed since (support/logger.ts fieldsText: JSON, else util.inspect).
  // Before: the default debug line is util.debuglog('%s %j', message, fields);
  // %j rethrows anything but a circular-structure error, the monitor swallows the throw (a logger
  // must never stall a chain), and the line is silently lost (BigInt, a throwing toJSON). For a
  // circular key the line is kept but all its fields print as "[Circular]": waitedMs is lost too.
  // The queue accepts any key (K).
  test.each(['bigint', 'throwingToJSON', 'circular'])('NFR-2: a %s key still gives its one debug line, with waitedMs', async (kind) => {
    const { stdout, debugLines } = await runFixture(kind);
    expect(JSON.parse(stdout)).toEqual({ result: 'ran' });
    expect(debugLines).toHaveLength(1);
    expect(debugLines[0]).toMatch(/"?waitedMs"?: ?\d/);
  }, 30_000);
});
