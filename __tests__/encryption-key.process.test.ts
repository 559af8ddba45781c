/**
 * Processes starting together on an empty directory end with one key: real
 * child processes on the BUILT package (run `npm run build` first).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { KEY_ENVIRONMENT_VARIABLE } from '../lib/encryption/key-source.js';
import { fixturesDir, legacyDecrypt } from './fixtures/encryption/helpers.js';
import { makeTempDir, removeTempDir } from './helpers/common.js';

let dir: string;
let keyPath: string;
beforeEach(() => {
  dir = makeTempDir();
  keyPath = path.join(dir, 'keys', 'oauth_encryption_key');
});
afterEach(() => {
  removeTempDir(dir);
});

const modeOf = (file: string): number => fs.statSync(file).mode & 0o777;

describe('FR-1.1: processes starting together on an empty directory agree on one key', () => {
  const CHILDREN = 4;

  /** Starts CHILDREN processes, releases them at once, and returns what each printed. */
  async function raceChildren(keyStoragePath: string): Promise<{ source?: string; payload?: string; error?: string }[]> {
    const environment = { ...process.env };
    delete environment[KEY_ENVIRONMENT_VARIABLE];
    const children = Array.from({ length: CHILDREN }, (_, index) =>
      spawn(process.execPath, [path.join(fixturesDir, 'encryption-init-key.mjs'), keyStoragePath, String(index)], {
        env: environment,
        stdio: ['pipe', 'pipe', 'inherit'],
        timeout: 20_000,
      }),
    );
    const outputs = children.map((child) => {
      let text = '';
      let markReady!: () => void;
      const ready = new Promise<void>((resolve) => (markReady = resolve));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (text.startsWith('ready\n')) markReady();
      });
      // 'close', not 'exit': only 'close' comes after the child's stdout has been read to the end.
      const done = new Promise<string>((resolve) => child.once('close', () => resolve(text)));
      // A child that dies before "ready" must fail the test, not hang it.
      return { ready: Promise.race([ready, done.then(() => Promise.reject(new Error(`child exited early: ${text}`)))]), done };
    });
    await Promise.all(outputs.map((output) => output.ready));
    for (const child of children) child.stdin.write('go\n');
    const texts = await Promise.all(outputs.map((output) => output.done));
    return texts.map((text) => JSON.parse(text.split('\n')[1] ?? '{}'));
  }

  test.each([1, 2, 3])('round %i: exactly one generates, every process encrypts under the key in the file', async () => {
    const results = await raceChildren(keyPath);
    const key = fs.readFileSync(keyPath, 'utf8');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(results.map((result) => result.error)).toEqual(Array(CHILDREN).fill(undefined));
    expect(results.filter((result) => result.source === 'generated')).toHaveLength(1);
    expect(results.filter((result) => result.source === 'file')).toHaveLength(CHILDREN - 1);
    results.forEach((result, index) => expect(legacyDecrypt(key, result.payload!)).toBe(`probe ${index}`));
    expect(modeOf(keyPath)).toBe(0o600);
    expect(modeOf(path.dirname(keyPath))).toBe(0o700);
    expect(fs.readdirSync(path.dirname(keyPath))).toEqual(['oauth_encryption_key']);
  });
});
