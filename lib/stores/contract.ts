/**
 * The async store contract: the three stores' original method names, every
 * one returning a promise, so one server codebase runs on the file backend
 * (through the adapters in `async-adapters.ts`) or on Redis
 * (`session-store-mutex/redis`). A session looked up on another host cannot
 * be answered synchronously, which is why even `getSession` is async here.
 */
import type { ClientRegistrationRequest, ClientRegistrationResult, OAuthClient } from './client-store.js';
import type { TokenValidation } from './refresh-token-store.js';
import type { UserSession } from './session-store.js';

/** What a refresh token is issued for. */
export interface TokenGrant {
  clientId: string;
  userId: string;
  scope: string;
}

/** Sessions of signed-in users. Every method resolves once the backend accepted the change (see each backend for what that means). */
export interface SessionStore {
  /** A new session with a random 64-hex-digit id. */
  createSession(userId: string): Promise<UserSession>;
  /** The session, or null when unknown or expired. */
  getSession(sessionId: string): Promise<UserSession | null>;
  /** Removes the session, if present. */
  deleteSession(sessionId: string): Promise<void>;
  /** Resolves once every change acknowledged so far is durable in the backend. */
  flush(): Promise<void>;
}

/** Refresh tokens, with single-use rotation. */
export interface RefreshTokenStore {
  /** Issues a token for the client and user. */
  generateToken(options: TokenGrant): Promise<string>;
  /** Valid when the token exists, belongs to `clientId`, has not expired and was not rotated; else `invalid_grant`. */
  validateToken(token: string, clientId: string): Promise<TokenValidation>;
  /** The new token, or null; of concurrent rotations of one token exactly one gets a token. */
  rotateToken(token: string, clientId: string): Promise<string | null>;
  /** Removes the token, if present. */
  revokeToken(token: string): Promise<void>;
  /** Removes every token of the client. */
  revokeAllForClient(clientId: string): Promise<void>;
  /** Removes rotated (and, where the backend keeps them, expired) tokens; resolves with how many this call removed. */
  cleanup(): Promise<number>;
  /** Resolves once every change acknowledged so far is durable in the backend. */
  flush(): Promise<void>;
}

/** Registered OAuth clients (RFC 7591). */
export interface ClientStore {
  /** Validates and registers a client; refusals resolve with an RFC 7591 error code. */
  registerClient(request: ClientRegistrationRequest): Promise<ClientRegistrationResult>;
  /** The client, or null. */
  getClient(clientId: string): Promise<OAuthClient | null>;
  /** Removes the client; `true` if there was one. */
  deleteClient(clientId: string): Promise<boolean>;
  /** Whether `redirectUri` is registered for the client. */
  isValidRedirectUri(clientId: string, redirectUri: string): Promise<boolean>;
  /** Resolves once every change acknowledged so far is durable in the backend. */
  flush(): Promise<void>;
}
