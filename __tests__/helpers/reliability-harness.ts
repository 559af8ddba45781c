/**
 * Shared tools of the reliability.*.test.ts suites (issue 6): fixtures run
 * in child processes against the BUILT package, each bounded by a SIGKILL
 * timeout, with stdout split into lines as it arrives; and the check of the
 * self-validating snapshots that the crash and rival fixtures write.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempFileOwner } from '../../lib/files/temp-name.js';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');
const DIST = path.join(__dirname, '..', '..', 'dist', 'index.js');

/** Fails fast, with the remedy, when dist/ has not been built. */
export function requireBuild(): void {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The child outlived its limit and was SIGKILLed by the harness. */
  readonly isTimedOut: boolean;
  readonly elapsedMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningChild {
  readonly child: ChildProcessWithoutNullStreams;
  /** Settles once the child has exited and its pipes are drained (so every line was seen). */
  readonly exit: Promise<ChildExit>;
}

export interface FixtureOptions {
  readonly timeoutMs: number;
  /** Sees each complete stdout line as it arrives. */
  readonly onLine?: (line: string, child: ChildProcessWithoutNullStreams) => void;
  readonly execArgv?: readonly string[];
  /** Changes to the parent's environment; `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Starts `fixtures/<name>` with `args`; SIGKILLs it once `timeoutMs` has passed. */
export function startFixture(name: string, args: readonly string[], options: FixtureOptions): RunningChild {
  // A debug section set for the parent must not change what the child prints.
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_DEBUG: undefined, ...options.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.execArgv ?? []), path.join(FIXTURES, name), ...args], { env });
  let stdout = '';
  let stderr = '';
  let partial = '';
  let isTimedOut = false;
  const limit = setTimeout(() => {
    isTimedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine?.(line, child);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<ChildExit>((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, isTimedOut, elapsedMs: performance.now() - started, stdout, stderr });
    });
  });
  return { child, exit };
}

/** Runs a fixture to its end. */
export function runFixture(name: string, args: readonly string[], options: FixtureOptions): Promise<ChildExit> {
  return startFixture(name, args, options).exit;
}

/** What the crash and rival fixtures write: `body` is random, `length` and `sha256` describe it. */
export interface Snapshot {
  readonly writer: number;
  readonly seq: number;
  readonly length: number;
  readonly sha256: string;
  readonly body: string;
}

/** Parses a snapshot and checks it against its own length and checksum; throws when it is not whole. */
export function parseSnapshot(text: string): Snapshot {
  const snapshot = JSON.parse(text) as Snapshot;
  if (typeof snapshot.body !== 'string' || snapshot.body.length !== snapshot.length) throw new Error(`snapshot ${snapshot.seq}: body length does not match`);
  if (createHash('sha256').update(snapshot.body).digest('hex') !== snapshot.sha256) throw new Error(`snapshot ${snapshot.seq}: checksum does not match`);
  return snapshot;
}

/** Every `*.tmp` file in `dir`, with the pid its name carries (this library's naming) or -1. */
export function tempFilesIn(dir: string): { name: string; pid: number }[] {
  return fs.readdirSync(dir).flatMap((name) => {
    if (!name.endsWith('.tmp')) return [];
    return [{ name, pid: tempFileOwner(name) ?? -1 }];
  });
}
