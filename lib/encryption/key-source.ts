/**
 * Where the encryption secret comes from, in order: the config, the
 * `SAGE_ENCRYPTION_KEY` environment variable, the key file, or a new random
 * key written to the key file. Processes starting together on an empty
 * directory end with one key: the file is published with link(), which is
 * exclusive like `wx` but makes the file appear with its whole content, so a
 * loser that gets EEXIST never reads a half-written key.
 */
import { randomBytes } from 'node:crypto';
import { publishTempFile } from '../files/atomic-write.js';
import { KeyFileError } from './errors.js';
import { errorCode, type FileSystem } from '../files/fs-seam.js';

/** Where a service's secret came from. */
export type KeySource = 'config' | 'environment' | 'file' | 'generated';

/** The environment variable read at `initialize()` time. */
export const KEY_ENVIRONMENT_VARIABLE = 'SAGE_ENCRYPTION_KEY';

/** A resolved secret and its source. The secret must never reach a log or an error. */
export interface ResolvedKey {
  readonly secret: string;
  readonly source: KeySource;
}

/** The source a resolution would use first without touching the disk: 'file' stands for file-or-generated. */
export function predictKeySource(configKey: string | undefined, env: NodeJS.ProcessEnv = process.env): KeySource {
  if (isPresent(configKey)) return 'config';
  return isPresent(env[KEY_ENVIRONMENT_VARIABLE]) ? 'environment' : 'file';
}

/** Resolves the secret by precedence; only the last step writes. */
export async function resolveKey(fs: FileSystem, configKey: string | undefined, keyStoragePath: string): Promise<ResolvedKey> {
  if (isPresent(configKey)) return { secret: configKey, source: 'config' };
  const fromEnvironment = process.env[KEY_ENVIRONMENT_VARIABLE];
  if (isPresent(fromEnvironment)) return { secret: fromEnvironment, source: 'environment' };
  const fromFile = await readKeyFile(fs, keyStoragePath);
  if (fromFile !== undefined) return { secret: fromFile, source: 'file' };
  const generated = randomBytes(32).toString('hex');
  try {
    await publishTempFile(fs, keyStoragePath, Buffer.from(generated, 'utf8'), 'link', true);
    return { secret: generated, source: 'generated' };
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  // Another process won the race: its key is the key.
  const winner = await readKeyFile(fs, keyStoragePath);
  if (winner === undefined) throw new KeyFileError(keyStoragePath, 'vanished right after another process created it');
  return { secret: winner, source: 'file' };
}

/** The key file's secret (trimmed), or undefined when there is no file. An empty file is an error, never overwritten. */
async function readKeyFile(fs: FileSystem, keyStoragePath: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await fs.readFile(keyStoragePath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  const secret = text.trim();
  if (secret === '') throw new KeyFileError(keyStoragePath, 'is empty; restore the key or remove the file to generate a new one');
  return secret;
}

function isPresent(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}
