/**
 * Where the encryption secret comes from. The precedence is the original
 * service's, so the key that decrypts existing files never changes on
 * upgrade: the `SAGE_ENCRYPTION_KEY` environment variable, then the key file,
 * then a new key written to the key file. `config.encryptionKey` may only
 * take the place of that new key: it is used, not written, when neither the
 * variable nor the file holds a key (so a service given one touches no key
 * file); when it disagrees with either, resolution fails with
 * KeyMismatchError instead of encrypting under a key the existing files were
 * not written with.
 *
 * Processes starting together on an empty directory end with one key: the
 * file is published with link(), which is exclusive like `wx` but makes the
 * file appear with its whole content, so a loser that gets EEXIST never reads
 * a half-written key.
 */
import { randomBytes } from 'node:crypto';
import { publishTempFile } from '../files/atomic-write.js';
import { KeyFileError, KeyMismatchError } from './encryption-errors.js';
import { errorCode, type FileSystem } from '../files/fs-seam.js';
import { MockedFileSystemError } from '../files/node-fs.js';

/** Where a service's secret came from: the values the original service reported. */
export type KeySource = 'environment' | 'file' | 'generated';

/** The environment variable read at `initialize()` time. */
export const KEY_ENVIRONMENT_VARIABLE = 'SAGE_ENCRYPTION_KEY';

/** A resolved secret and its source. The secret must never reach a log or an error. */
export interface ResolvedKey {
  readonly secret: string;
  readonly source: KeySource;
  /** The config key stood in for a generated one: nothing new was made, so there is nothing to back up. */
  readonly isConfigKey?: boolean;
}

/** Receives the key-file permission warning; never given the secret. */
export type KeyWarning = (fields: Record<string, unknown>, message: string) => void;

/** The source a resolution would use first without touching the disk: 'file' stands for file-or-generated. */
export function predictKeySource(env: NodeJS.ProcessEnv = process.env): KeySource {
  return isPresent(env[KEY_ENVIRONMENT_VARIABLE]) ? 'environment' : 'file';
}

/** Resolves the secret by precedence; only the last step writes. */
export async function resolveKey(fs: FileSystem, configKey: string | undefined, keyStoragePath: string, warn: KeyWarning): Promise<ResolvedKey> {
  const fromEnvironment = process.env[KEY_ENVIRONMENT_VARIABLE];
  if (isPresent(fromEnvironment)) return agreed(configKey, { secret: fromEnvironment, source: 'environment' }, keyStoragePath);
  const fromFile = await readKeyFile(fs, keyStoragePath, warn);
  if (fromFile !== undefined) return agreed(configKey, { secret: fromFile, source: 'file' }, keyStoragePath);
  // Where the original would generate a key: the original's health consumers know no 'config' source.
  if (isPresent(configKey)) return { secret: configKey, source: 'generated', isConfigKey: true };
  const secret = randomBytes(32).toString('hex');
  try {
    await publishTempFile(fs, keyStoragePath, Buffer.from(secret, 'utf8'), 'link', true);
    return { secret, source: 'generated' };
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  // Another process won the race: its key is the key.
  const winner = await readKeyFile(fs, keyStoragePath, warn);
  if (winner === undefined) throw new KeyFileError(keyStoragePath, 'vanished right after another process created it');
  return agreed(configKey, { secret: winner, source: 'file' }, keyStoragePath);
}

function agreed(configKey: string | undefined, resolved: ResolvedKey, keyStoragePath: string): ResolvedKey {
  if (isPresent(configKey) && configKey !== resolved.secret) {
    throw new KeyMismatchError(resolved.source === 'environment' ? 'environment' : 'file', keyStoragePath);
  }
  return resolved;
}

/**
 * The key file's secret (trimmed), or undefined when there is no file. An
 * empty file or a symlink to nothing is an error, never overwritten.
 */
async function readKeyFile(fs: FileSystem, keyStoragePath: string, warn: KeyWarning): Promise<string | undefined> {
  let text: string;
  try {
    text = await fs.readFile(keyStoragePath);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    if (!(await nameExists(fs, keyStoragePath))) return undefined;
    // Reading said "no such file", yet the name exists: another process has just published its
    // key, or the name is a symlink to nothing. A second read tells them apart.
    try {
      text = await fs.readFile(keyStoragePath);
    } catch (again) {
      if (errorCode(again) !== 'ENOENT') throw again;
      throw new KeyFileError(keyStoragePath, 'is a symbolic link whose target does not exist; restore the target or remove the link');
    }
  }
  const secret = text.trim();
  if (secret === '') throw new KeyFileError(keyStoragePath, 'is empty; restore the key or remove the file to generate a new one');
  await warnIfShared(fs, keyStoragePath, warn);
  return secret;
}

/** lstat: whether the name itself exists, whatever it points at. */
async function nameExists(fs: FileSystem, keyStoragePath: string): Promise<boolean> {
  try {
    await fs.stat(keyStoragePath);
    return true;
  } catch (error) {
    if (error instanceof MockedFileSystemError) throw error;
    return false;
  }
}

/** Paths already warned about: one warning per key file and mode per process, as ssh warns per use. */
const warnedModes = new Set<string>();

/** Warns once when group or others may read the key, as ssh does for private keys. */
async function warnIfShared(fs: FileSystem, keyStoragePath: string, warn: KeyWarning): Promise<void> {
  // Windows has no POSIX mode bits; its ACLs are out of reach of this check.
  if (process.platform === 'win32') return;
  let mode: number;
  try {
    mode = (await fs.fileMode(keyStoragePath)) & 0o777;
  } catch {
    return; // The key was read; a failed stat must not fail initialize().
  }
  if ((mode & 0o077) === 0) return;
  const octal = `0${mode.toString(8).padStart(3, '0')}`;
  if (warnedModes.has(`${keyStoragePath}\0${octal}`)) return;
  warnedModes.add(`${keyStoragePath}\0${octal}`);
  warn({ keyStoragePath, mode: octal }, `key file ${JSON.stringify(keyStoragePath)} has mode ${octal}: group or others may read the encryption key; run chmod 600 on it`);
}

function isPresent(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}
