/**
 * FR-3.1 drop-in, at the type level: the original server's types (vendored
 * declarations in fixtures/upstream-types) and this package's are assignable
 * both ways, and each class satisfies the original's public shape with the
 * original's constructor arguments. The compile-time half is enforced by
 * `npm run typecheck` (part of `npm test`): a broken type makes it fail. The
 * run-time half checks the values behind those types.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as Up from './fixtures/upstream-types/index.js';
import {
  EncryptionService,
  FileMutex,
  PersistentClientStore,
  PersistentRefreshTokenStore,
  PersistentSessionStore,
  type ClientRegistrationRequest,
  type ClientRegistrationResult,
  type ClientStoreConfig,
  type EncryptionServiceConfig,
  type FileMutexMetrics,
  type GenerateRefreshTokenOptions,
  type GrantType,
  type OAuthClient,
  type RefreshToken,
  type RefreshTokenStoreConfig,
  type RefreshTokenValidationResult,
  type ResponseType,
  type TokenEndpointAuthMethod,
  type UserSession,
} from '../lib/index.js';
import { makeTempDir } from './helpers/common.js';

/** true only when A and B are assignable to each other. */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Each entry fails to compile (false is not true) if the two types drift apart in either direction.
const mutuallyAssignable: [
  Mutual<Up.ResponseType, ResponseType>,
  Mutual<Up.GrantType, GrantType>,
  Mutual<Up.TokenEndpointAuthMethod, TokenEndpointAuthMethod>,
  Mutual<Up.OAuthClient, OAuthClient>,
  Mutual<Up.ClientRegistrationRequest, ClientRegistrationRequest>,
  Mutual<Up.ClientRegistrationResult, ClientRegistrationResult>,
  Mutual<Up.ClientStoreConfig, ClientStoreConfig>,
  Mutual<Up.RefreshToken, RefreshToken>,
  Mutual<Up.RefreshTokenStoreConfig, RefreshTokenStoreConfig>,
  Mutual<Up.GenerateRefreshTokenOptions, GenerateRefreshTokenOptions>,
  Mutual<Up.RefreshTokenValidationResult, RefreshTokenValidationResult>,
  Mutual<Up.UserSession, UserSession>,
  Mutual<Up.EncryptionServiceConfig, EncryptionServiceConfig>,
  Mutual<Up.FileMutexMetrics, FileMutexMetrics>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true];

let dir: string;
beforeEach(() => {
  dir = makeTempDir('ssm-compat-types-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('FR-3.1: every original data type is assignable both ways (checked by the type check)', () => {
  expect(mutuallyAssignable.every((entry) => entry)).toBe(true);
  expect(mutuallyAssignable).toHaveLength(14);
});

test('FR-3.1: the classes take the original constructor arguments and satisfy the original public shapes', async () => {
  const config: Up.EncryptionServiceConfig = { keyStoragePath: path.join(dir, 'oauth_encryption_key') };
  const service: Up.EncryptionServicePublic = new EncryptionService(config);
  const mutex: Up.FileMutexPublic = new FileMutex();
  const encryption = new EncryptionService(config);
  const clientConfig: Up.ClientStoreConfig = { allowedRedirectUris: [] };
  const tokenConfig: Up.RefreshTokenStoreConfig = { expirySeconds: 60 };
  const clients: Up.PersistentClientStorePublic = new PersistentClientStore(clientConfig, encryption, path.join(dir, 'oauth_clients.enc'));
  const tokens: Up.PersistentRefreshTokenStorePublic = new PersistentRefreshTokenStore(tokenConfig, encryption, path.join(dir, 'oauth_refresh_tokens.enc'));
  const sessions: Up.PersistentSessionStorePublic = new PersistentSessionStore(encryption, path.join(dir, 'oauth_sessions.enc'));
  // The server holds them through the original interfaces.
  const asInterfaces: [Up.ClientStore, Up.RefreshTokenStore, Up.SessionStore] = [clients, tokens, sessions];

  await encryption.initialize();
  const request: Up.ClientRegistrationRequest = { client_name: 'CLI', redirect_uris: ['http://localhost:8976/callback'] };
  const result: Up.ClientRegistrationResult = await clients.registerClient(request);
  const client: Up.OAuthClient = result.client!;
  // The run-time values behind the literal unions are the original's defaults.
  expect(client).toEqual({
    client_id: expect.stringMatching(/^sage_[0-9a-f]{32}$/),
    client_name: 'CLI',
    redirect_uris: ['http://localhost:8976/callback'],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    client_id_issued_at: expect.any(Number),
  });
  const keySource: Up.EncryptionServicePublic['getHealthStatus'] extends () => { keySource: infer K } ? K : never = encryption.getHealthStatus().keySource;
  expect(['environment', 'file', 'generated']).toContain(keySource);
  const metrics: Up.FileMutexMetrics = mutex.getMetrics();
  expect(Object.keys(metrics).sort()).toEqual(['activeFiles', 'longestWaitMs', 'queueDepthWarnings', 'totalWaitTimeMs']);
  expect(service.isInitialized()).toBe(false);
  expect(asInterfaces).toHaveLength(3);
  await clients.flush();
});
