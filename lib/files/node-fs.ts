/**
 * The one place the library reaches Node's promise file API. It imports the
 * plain `fs` and `fs/promises` specifiers (as the original service did) and
 * picks the API per call, so a consumer's `jest.mock('fs')` or
 * `jest.mock('fs/promises')` is never bypassed: in a real process both names
 * give one object; when a module loader replaced one of them, the library
 * uses the replacement, and when it cannot tell which one is real it refuses
 * rather than risk touching the real disk.
 */
import fs from 'fs';
import * as fsPromisesModule from 'fs/promises';

/** The promise file API, as Node's `fs/promises` types it. */
export type FsPromises = typeof fsPromisesModule;

/** A file-system module was replaced in a way that leaves no promise API to use. */
export class MockedFileSystemError extends Error {
  override readonly name = 'MockedFileSystemError';
  readonly code = 'ERR_MOCKED_FS' as const;

  constructor(detail: string) {
    super(`the 'fs' or 'fs/promises' module was replaced (e.g. by jest.mock) and ${detail}; the library will not fall back to the real disk`);
  }
}

// `import * as` gives a namespace object; its `default` (when present) is the module object a CommonJS loader returns.
const viaPromisesName = (): FsPromises => ((fsPromisesModule as { default?: FsPromises }).default ?? fsPromisesModule);

type BuiltinLoader = (id: string) => unknown;

/** The promise API every file operation uses; see the file comment. */
export function fsPromises(): FsPromises {
  const viaPromises = viaPromisesName();
  const viaFs = (fs as { promises?: FsPromises } | undefined)?.promises;
  if (viaPromises === viaFs) return viaPromises;
  // Node 20.16+: reaches the built-in module past any loader's registry.
  const getBuiltinModule = (process as { getBuiltinModule?: BuiltinLoader }).getBuiltinModule;
  const real = getBuiltinModule?.call(process, 'fs/promises');
  if (real !== undefined && viaPromises !== real) return viaPromises;
  if (real !== undefined && viaFs !== undefined) return viaFs;
  if (viaFs === undefined) throw new MockedFileSystemError("the replacement 'fs' has no 'promises'");
  throw new MockedFileSystemError('this Node version cannot tell which of the two is real');
}
