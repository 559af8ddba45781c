// The package's public surface: explicit named exports only, and nothing runs
// at import time (no handlers, timers or files touched).
export { SerialQueue } from './queue/serial-queue.js';
export type { SerialQueueOptions, RunOptions, SerialQueueMetrics, QueueLogger } from './queue/serial-queue.js';

export { EncryptionService } from './encryption/encryption-service.js';
export type { EncryptionServiceConfig, FileMutexMetrics, EncryptionHealthStatus, EncryptionServiceSeam } from './encryption/encryption-types.js';
export type { Logger } from './encryption/service-logger.js';
export { nodeFileSystem } from './files/fs-seam.js';
export type { FileSystem, FileHandle } from './files/fs-seam.js';
export type { DeriveKey } from './encryption/crypto-format.js';
export type { KeySource } from './encryption/key-source.js';

export { PersistentSessionStore } from './stores/session-store.js';
export type { UserSession, SessionStoreOptions } from './stores/session-store.js';
export { PersistentRefreshTokenStore } from './stores/refresh-token-store.js';
export type { RefreshToken, RefreshTokenStoreConfig, TokenValidation } from './stores/refresh-token-store.js';
export { PersistentClientStore } from './stores/client-store.js';
export type {
  OAuthClient,
  ClientStoreConfig,
  ClientRegistrationRequest,
  ClientRegistrationResult,
} from './stores/client-store.js';
export { shutdown, installShutdownHandlers } from './stores/shutdown.js';
export type { FlushableStore, ShutdownOptions, ShutdownHandlerOptions } from './stores/shutdown.js';
export type { StoreLogger } from './stores/store-logger.js';

export { LockReentryError } from './queue/errors.js';
export { DecryptionError, NotInitializedError, KeyFileError } from './encryption/errors.js';
export {
  UnsupportedStoreVersionError, StoreFlushError, ShutdownTimeoutError, InvalidArgumentError, StoreClosedError,
} from './stores/store-errors.js';
export { OptionRangeError } from './support/options.js';
