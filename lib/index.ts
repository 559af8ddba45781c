// The package's public surface: what a server uses, as explicit named exports,
// and nothing runs at import time (no handlers, timers or files touched).
// The fault-injection seam lives in `session-store-mutex/testing` (testing.ts).
export { SerialQueue } from './queue/serial-queue.js';
export type { SerialQueueOptions, RunOptions, SerialQueueMetrics, QueueLogger } from './queue/serial-queue.js';
export { FileMutex } from './files/file-mutex.js';
export type { FileMutexMetrics } from './files/file-mutex.js';

export { EncryptionService } from './encryption/encryption-service.js';
export type { EncryptionServiceConfig, ServiceMutexMetrics, EncryptionHealthStatus } from './encryption/encryption-types.js';
export type { Logger } from './encryption/service-logger.js';
export type { KeySource } from './encryption/key-source.js';

export { PersistentSessionStore } from './stores/session-store.js';
export type { UserSession, SessionStoreOptions } from './stores/session-store.js';
export { PersistentRefreshTokenStore } from './stores/refresh-token-store.js';
export type {
  RefreshToken,
  RefreshTokenStoreConfig,
  TokenValidation,
  RefreshTokenValidationResult,
  GenerateRefreshTokenOptions,
} from './stores/refresh-token-store.js';
export { PersistentClientStore } from './stores/client-store.js';
export type {
  OAuthClient,
  ResponseType,
  GrantType,
  TokenEndpointAuthMethod,
  ClientStoreConfig,
  ClientRegistrationRequest,
  ClientRegistrationResult,
} from './stores/client-store.js';
export { shutdown, installShutdownHandlers } from './stores/shutdown.js';
export type { FlushableStore, ShutdownOptions, ShutdownHandlerOptions } from './stores/shutdown.js';
export type { StoreLogger } from './stores/store-logger.js';
export { asyncSessionStore, asyncRefreshTokenStore, asyncClientStore } from './stores/async-adapters.js';
export type { SessionStore, RefreshTokenStore, ClientStore, TokenGrant } from './stores/contract.js';

export { LockReentryError } from './queue/queue-errors.js';
export { MockedFileSystemError } from './files/node-fs.js';
export { DecryptionError, NotInitializedError, KeyFileError, KeyMismatchError } from './encryption/encryption-errors.js';
export {
  UnsupportedStoreVersionError, StoreFlushError, ShutdownTimeoutError, InvalidArgumentError, StoreClosedError,
} from './stores/store-errors.js';
export { OptionRangeError } from './support/options.js';
