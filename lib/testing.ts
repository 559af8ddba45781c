/**
 * `session-store-mutex/testing`: the fault-injection seam, for tests and
 * benchmarks only. Production code needs none of it.
 *
 * Pass an {@link EncryptionServiceSeam} as the EncryptionService's second
 * constructor argument to replace, for that one instance, any
 * {@link FileSystem} function (make `fsync` fail with EIO, count `rename`s...)
 * or the key derivation (count scrypt runs, wrapping {@link scryptKey}), on
 * the real file system, without mocking `fs`.
 */
export { nodeFileSystem } from './files/fs-seam.js';
export type { FileSystem, FileHandle } from './files/fs-seam.js';
export { scryptKey } from './encryption/crypto-format.js';
export type { DeriveKey } from './encryption/crypto-format.js';
export type { EncryptionServiceSeam } from './encryption/encryption-types.js';
