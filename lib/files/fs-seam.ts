/**
 * The narrow file-system seam: every disk operation of the EncryptionService
 * goes through one of these functions, so a test can make exactly one of
 * them fail (ENOSPC on write, EIO on fsync, EXDEV on rename...) for one
 * service instance, on the real file system, without mocking `fs`.
 */
import type { FileHandle } from 'fs/promises';
import { fsPromises as fsp, MockedFileSystemError } from './node-fs.js';

/** Node's promise-based file handle, re-exported for seam implementations. */
export type { FileHandle } from 'fs/promises';

/** The file-system operations the service uses; errors must keep Node's `code`. */
export interface FileSystem {
  /** Opens a file (or, with flags 'r', a directory for fsync). */
  open(path: string, flags: string, mode?: number): Promise<FileHandle>;
  /** Writes every byte of `data` at the handle's position. */
  write(handle: FileHandle, data: Uint8Array): Promise<void>;
  /** fchmod: sets the mode exactly, whatever the umask took away at open. */
  chmod(handle: FileHandle, mode: number): Promise<void>;
  /** fsync of a file or directory handle. */
  fsync(handle: FileHandle): Promise<void>;
  close(handle: FileHandle): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Hard link; fails with EEXIST when `to` exists (the exclusive publish of a key file). */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Creates the directory and any missing parents with `mode`; resolves to the first directory it created, if any. */
  mkdir(path: string, mode: number): Promise<string | undefined>;
  /** Reads a whole file as UTF-8. */
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  /**
   * lstat, reduced to what the temp-file sweep and the process lock need.
   * `isFile` (optional for seams that predate it) tells a regular file from a
   * symlink, directory or other special file.
   */
  stat(path: string): Promise<{ mtimeMs: number; isFile?: () => boolean }>;
  /** Sets a file's access and modification time (the process lock's heartbeat). */
  utimes(path: string, timeMs: number): Promise<void>;
  /** stat (following symlinks), reduced to `mode`: the key file's permission check. */
  fileMode(path: string): Promise<number>;
  /** The physical path, resolving symlinks and `..` as the kernel does. */
  realpath(path: string): Promise<string>;
}

/**
 * A mocked module's function (jest's automock) answers `undefined`; the real
 * one never does. Said plainly, naming the function, instead of a TypeError
 * somewhere later or a misreading (an lstat answering nothing looked like a
 * dangling symlink).
 */
function answered<T>(name: string, value: T): T {
  if (typeof value !== 'object' || value === null) throw new MockedFileSystemError(`its ${name}() answered ${value === null ? 'null' : typeof value}`);
  return value;
}

/** The real file system: thin wrappers over `fs/promises`, looked up per call (see node-fs.ts). */
export const nodeFileSystem: Readonly<FileSystem> = Object.freeze({
  open: async (path: string, flags: string, mode?: number) => answered('open', await fsp().open(path, flags, mode)),
  write: async (handle: FileHandle, data: Uint8Array) => {
    await handle.writeFile(data);
  },
  chmod: (handle: FileHandle, mode: number) => handle.chmod(mode),
  fsync: (handle: FileHandle) => handle.sync(),
  close: (handle: FileHandle) => handle.close(),
  rename: (from: string, to: string) => fsp().rename(from, to),
  link: (from: string, to: string) => fsp().link(from, to),
  unlink: (path: string) => fsp().unlink(path),
  mkdir: (path: string, mode: number) => fsp().mkdir(path, { recursive: true, mode }),
  readFile: async (path: string) => {
    const text: unknown = await fsp().readFile(path, 'utf8');
    if (typeof text !== 'string') throw new MockedFileSystemError(`its readFile() answered ${typeof text}`);
    return text;
  },
  readdir: (path: string) => fsp().readdir(path),
  stat: async (path: string) => answered('lstat', await fsp().lstat(path)),
  utimes: (path: string, timeMs: number) => fsp().utimes(path, timeMs / 1000, timeMs / 1000),
  fileMode: async (path: string) => answered('stat', await fsp().stat(path)).mode,
  realpath: (path: string) => fsp().realpath(path),
});

/** The real file system with some functions replaced; the overrides object is copied, never kept. */
export function createFileSystem(overrides: Partial<FileSystem> = {}): Readonly<FileSystem> {
  return Object.freeze({ ...nodeFileSystem, ...overrides });
}

/** The `code` of a Node system error, or undefined. */
export function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
