// The `session-store-mutex/redis` subpath: the three stores on Redis (or
// Valkey) with no runtime dependency; the caller passes `sendCommand`.
// Nothing runs at import time.
export { RedisBackend } from './redis-backend.js';
export type { RedisBackendOptions } from './redis-backend.js';
export type { SendCommand } from './command-runner.js';
export { RedisSessionStore } from './redis-session-store.js';
export type { RedisSessionStoreOptions } from './redis-session-store.js';
export { RedisRefreshTokenStore } from './redis-refresh-token-store.js';
export type { RedisRefreshTokenStoreConfig } from './redis-refresh-token-store.js';
export { RedisClientStore } from './redis-client-store.js';
export type { RedisClientStoreConfig } from './redis-client-store.js';
export { migrateFilesToRedis } from './migrate.js';
export type { MigrationOptions, MigrationReport, MigrationCounts } from './migrate.js';
export {
  RedisUnavailableError,
  RedisTimeoutError,
  RedisReplyError,
  RedisRecordError,
  RedisKeyPrefixError,
  AlreadyMigratedError,
  MigrationSourceError,
} from './redis-errors.js';
// The argument errors are the file stores' own classes: one `instanceof` and one `code` for both backends.
export { InvalidArgumentError } from '../stores/store-errors.js';
export { OptionRangeError } from '../support/options.js';
export type { SessionStore, RefreshTokenStore, ClientStore, TokenGrant } from '../stores/contract.js';
