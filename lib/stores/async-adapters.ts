/**
 * Thin adapters that make the file-backed drop-in stores satisfy the async
 * contract. They add no state and no behaviour: each call goes straight to the
 * store, and a synchronous throw becomes a rejection (an async method never
 * throws at its caller). Acknowledgement keeps the file backend's meaning: a
 * change resolves once it is in this process's memory; `flush()` resolves once
 * it is on disk.
 */
import type { ClientStore, RefreshTokenStore, SessionStore } from './contract.js';
import type { PersistentClientStore } from './client-store.js';
import type { PersistentRefreshTokenStore } from './refresh-token-store.js';
import type { PersistentSessionStore } from './session-store.js';

/** The session store behind the async contract; `getSession` and friends resolve instead of returning. */
export function asyncSessionStore(store: PersistentSessionStore): SessionStore {
  return {
    createSession: async (userId) => store.createSession(userId),
    getSession: async (sessionId) => store.getSession(sessionId),
    deleteSession: async (sessionId) => store.deleteSession(sessionId),
    flush: async () => store.flush(),
  };
}

/** The refresh token store behind the async contract (its methods are async already; this pins the shape). */
export function asyncRefreshTokenStore(store: PersistentRefreshTokenStore): RefreshTokenStore {
  return {
    generateToken: async (options) => store.generateToken(options),
    validateToken: async (token, clientId) => store.validateToken(token, clientId),
    rotateToken: async (token, clientId) => store.rotateToken(token, clientId),
    revokeToken: async (token) => store.revokeToken(token),
    revokeAllForClient: async (clientId) => store.revokeAllForClient(clientId),
    cleanup: async () => store.cleanup(),
    flush: async () => store.flush(),
  };
}

/** The client store behind the async contract (its methods are async already; this pins the shape). */
export function asyncClientStore(store: PersistentClientStore): ClientStore {
  return {
    registerClient: async (request) => store.registerClient(request),
    getClient: async (clientId) => store.getClient(clientId),
    deleteClient: async (clientId) => store.deleteClient(clientId),
    isValidRedirectUri: async (clientId, redirectUri) => store.isValidRedirectUri(clientId, redirectUri),
    flush: async () => store.flush(),
  };
}
