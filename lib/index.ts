// The package's public surface: explicit named exports only, and nothing runs
// at import time (no handlers, timers or files touched).
export { SerialQueue } from './serial-queue.js';
export type { SerialQueueOptions, RunOptions, SerialQueueMetrics, QueueLogger } from './serial-queue.js';

export { EncryptionService } from './encryption-service.js';
export type { EncryptionServiceConfig, FileMutexMetrics, EncryptionHealthStatus, EncryptionServiceSeam } from './encryption-types.js';
export type { Logger } from './service-logger.js';
export { nodeFileSystem } from './fs-seam.js';
export type { FileSystem, FileHandle } from './fs-seam.js';
export type { DeriveKey } from './crypto-format.js';
export type { KeySource } from './key-source.js';

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
export type { FlushableStore, ShutdownHandlerOptions } from './stores/shutdown.js';
export type { StoreLogger } from './stores/store-logger.js';

export { LockReentryError, DecryptionError, NotInitializedError, KeyFileError } from './errors.js';
export { UnsupportedStoreVersionError, StoreFlushError, ShutdownTimeoutError } from './stores/store-errors.js';
