import { randomBytes } from 'node:crypto';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { isRegisteredRedirectUri, redirectUrisProblem, type RedirectUriPolicy } from './redirect-uri.js';
import { isObject, isString, isStringArray, isTime } from './store-file.js';
import type { StoreLogger } from './store-logger.js';
import { StorePersistence } from './store-persistence.js';

/** The response types the original server supports. */
export type ResponseType = 'code';
/** The grant types the original server supports. */
export type GrantType = 'authorization_code' | 'refresh_token';
/** The token endpoint auth methods the original server supports. */
export type TokenEndpointAuthMethod = 'none' | 'client_secret_post';

/** A registered OAuth client as stored in `oauth_clients.enc` (RFC 7591 §3.2.1); the original's type. */
export interface OAuthClient {
  /** `sage_` and 32 hex digits. */
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  response_types: ResponseType[];
  grant_types: GrantType[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  /** Seconds since the epoch, as RFC 7591 specifies. */
  client_id_issued_at: number;
  client_secret?: string;
  client_secret_expires_at?: number;
  scope?: string;
}

/** Configuration of a {@link PersistentClientStore}. */
export interface ClientStoreConfig {
  /** URIs clients may register; `'*'` allows any https URI. Claude's callbacks and loopback `/callback` URIs are always allowed. */
  allowedRedirectUris: string[];
  /** URIs accepted as listed, whatever their scheme. Default none. */
  trustedRedirectUris?: string[];
  /**
   * Opt-in, stricter than the original: refuse redirect URIs with a fragment,
   * and match a loopback URI at authorization only against a registered one
   * that differs in nothing but the port (RFC 8252 §7.3). Default false.
   */
  strictRedirectUris?: boolean;
  /** Where moved-aside files are reported. Default: `process.emitWarning`. */
  logger?: StoreLogger;
}

/** A dynamic client registration request (RFC 7591 §2); the original's type. Fields after the auth method are not stored. */
export interface ClientRegistrationRequest {
  client_name: string;
  redirect_uris: string[];
  /** Default `['code']`. */
  response_types?: ResponseType[];
  /** Default `['authorization_code', 'refresh_token']`. */
  grant_types?: GrantType[];
  /** Default `'none'` (a public client). */
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  scope?: string;
  contacts?: string[];
  logo_uri?: string;
  client_uri?: string;
  policy_uri?: string;
  tos_uri?: string;
}

/** The outcome of a registration; `error` is an RFC 7591 §3.2.2 error code. */
export interface ClientRegistrationResult {
  success: boolean;
  client?: OAuthClient;
  error?: string;
  errorDescription?: string;
}

const isOAuthClient = (value: unknown): value is OAuthClient =>
  isObject(value) && isString(value.client_id) && isString(value.client_name) && isStringArray(value.redirect_uris) &&
  isStringArray(value.response_types) && isStringArray(value.grant_types) && isString(value.token_endpoint_auth_method) &&
  isTime(value.client_id_issued_at);

/** The original's client id format: `sage_` and 16 random bytes in hex. */
const newClientId = (): string => `sage_${randomBytes(16).toString('hex')}`;

const copyOf = (client: OAuthClient): OAuthClient => structuredClone(client);

const refuse = (error: string, errorDescription: string): ClientRegistrationResult => ({ success: false, error, errorDescription });

/**
 * Registered clients kept in memory and persisted as one encrypted file
 * (default `~/.sage/oauth_clients.enc`). `registerClient` and `deleteClient`
 * resolve only once the change is on disk; when the write fails they reject
 * with its error and the change is undone in memory.
 *
 * Call `loadFromStorage()` before using the store: it replaces what is in memory.
 */
export class PersistentClientStore {
  readonly #clients = new Map<string, OAuthClient>();
  readonly #policy: RedirectUriPolicy;
  readonly #file: StorePersistence<OAuthClient>;

  constructor(config: ClientStoreConfig, encryptionService: EncryptionService, storagePath?: string) {
    this.#policy = {
      allowedRedirectUris: [...config.allowedRedirectUris],
      trustedRedirectUris: [...(config.trustedRedirectUris ?? [])],
      strict: config.strictRedirectUris === true,
    };
    this.#file = new StorePersistence(
      encryptionService,
      storagePath,
      { name: 'clients', field: 'clients', defaultFileName: 'oauth_clients.enc', isRecord: isOAuthClient, records: () => this.#clients.values() },
      config.logger,
    );
  }

  /** Replaces the clients in memory with the file's. */
  async loadFromStorage(): Promise<void> {
    const records = await this.#file.load();
    this.#clients.clear();
    for (const record of records) this.#clients.set(record.client_id, copyOf(record));
  }

  /**
   * Validates and registers a client, resolving once it is on disk. Refusals
   * resolve with `invalid_client_metadata` or `invalid_redirect_uri`.
   */
  async registerClient(request: ClientRegistrationRequest): Promise<ClientRegistrationResult> {
    const { client_name: name, redirect_uris: uris } = request;
    if (!isString(name) || name.trim() === '') return refuse('invalid_client_metadata', 'client_name is required');
    const uriProblem = redirectUrisProblem(uris, this.#policy);
    if (uriProblem !== undefined) return refuse('invalid_redirect_uri', uriProblem);
    const { response_types = ['code'], grant_types = ['authorization_code', 'refresh_token'], token_endpoint_auth_method = 'none' } = request;
    if (!isStringArray(response_types) || !isStringArray(grant_types) || !isString(token_endpoint_auth_method)) {
      return refuse('invalid_client_metadata', 'response_types and grant_types must be string arrays, token_endpoint_auth_method a string');
    }
    const client: OAuthClient = {
      client_id: newClientId(),
      client_name: name,
      redirect_uris: [...uris],
      response_types: [...response_types],
      grant_types: [...grant_types],
      token_endpoint_auth_method,
      client_id_issued_at: Math.floor(Date.now() / 1000),
    };
    this.#clients.set(client.client_id, client);
    await this.#persist(() => this.#clients.delete(client.client_id));
    return { success: true, client: copyOf(client) };
  }

  /** The client, or null. */
  async getClient(clientId: string): Promise<OAuthClient | null> {
    const client = this.#clients.get(clientId);
    return client === undefined ? null : copyOf(client);
  }

  /** Removes the client, resolving `true` once that is on disk, or `false` if there was none. */
  async deleteClient(clientId: string): Promise<boolean> {
    const client = this.#clients.get(clientId);
    if (client === undefined) return false;
    this.#clients.delete(clientId);
    await this.#persist(() => {
      if (!this.#clients.has(clientId)) this.#clients.set(clientId, client);
    });
    return true;
  }

  /**
   * Whether `redirectUri` may be used by the client: registered, or a loopback
   * callback when the client registered one (see `strictRedirectUris`).
   */
  async isValidRedirectUri(clientId: string, redirectUri: string): Promise<boolean> {
    const client = this.#clients.get(clientId);
    return client !== undefined && isRegisteredRedirectUri(client.redirect_uris, redirectUri, this.#policy.strict);
  }

  /** Resolves once every change made before the call is on disk; rejects with the write's error. */
  flush(): Promise<void> {
    return this.#file.saves.save();
  }

  /** Clients held. */
  getMetrics(): { count: number } {
    return { count: this.#clients.size };
  }

  /** Saves; on failure undoes the change in memory and rethrows (NFR-8). */
  async #persist(undo: () => void): Promise<void> {
    this.#file.saves.markChanged();
    try {
      await this.#file.saves.save();
    } catch (error) {
      undo();
      // A later save may already hold the undone change; the next one must overwrite it.
      this.#file.saves.markChanged();
      throw error;
    }
  }
}
