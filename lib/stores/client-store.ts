import { randomUUID } from 'node:crypto';
import type { EncryptionService } from '../encryption/encryption-service.js';
import { matchesRegisteredRedirectUri, redirectUriProblem, type RedirectUriPolicy } from './redirect-uri.js';
import { isObject, isString, isStringArray, isTime } from './store-file.js';
import type { StoreLogger } from './store-logger.js';
import { StorePersistence } from './store-persistence.js';

/** A registered OAuth client as stored in `oauth_clients.enc` (RFC 7591 §3.2.1). */
export interface OAuthClient {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  response_types: string[];
  grant_types: string[];
  token_endpoint_auth_method: string;
  /** Seconds since the epoch, as RFC 7591 specifies. */
  client_id_issued_at: number;
}

/** Configuration of a {@link PersistentClientStore}. */
export interface ClientStoreConfig {
  /** URIs clients may register; `'*'` allows any https URI. Loopback http callbacks are always allowed. */
  allowedRedirectUris: string[];
  /** URIs accepted as listed, whatever their scheme. Default none. */
  trustedRedirectUris?: string[];
  /** Where moved-aside files are reported. Default: `process.emitWarning`. */
  logger?: StoreLogger;
}

/** A dynamic client registration request (RFC 7591 §2). */
export interface ClientRegistrationRequest {
  client_name: string;
  redirect_uris: string[];
  /** Default `['code']`. */
  response_types?: string[];
  /** Default `['authorization_code', 'refresh_token']`. */
  grant_types?: string[];
  /** Default `'none'` (a public client). */
  token_endpoint_auth_method?: string;
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

const copyOf = (client: OAuthClient): OAuthClient => structuredClone(client);

const refuse = (error: string, errorDescription: string): ClientRegistrationResult => ({ success: false, error, errorDescription });

/**
 * Registered clients kept in memory and persisted as one encrypted file
 * (default `~/.sage/oauth_clients.enc`). `registerClient` and `deleteClient`
 * resolve only once the change is on disk; when the write fails they reject
 * with its error and the change is undone in memory.
 *
 * Any number of instances and processes may share the file: saves merge,
 * lookups read fresh (README, "Many writers").
 */
export class PersistentClientStore {
  readonly #clients = new Map<string, OAuthClient>();
  readonly #policy: RedirectUriPolicy;
  readonly #file: StorePersistence<OAuthClient>;

  constructor(config: ClientStoreConfig, encryptionService: EncryptionService, storagePath?: string) {
    this.#policy = { allowedRedirectUris: [...config.allowedRedirectUris], trustedRedirectUris: [...(config.trustedRedirectUris ?? [])] };
    this.#file = new StorePersistence(
      encryptionService,
      storagePath,
      { name: 'clients', field: 'clients', defaultFileName: 'oauth_clients.enc', isRecord: isOAuthClient, idOf: (client) => client.client_id, records: this.#clients },
      config.logger,
    );
  }

  /**
   * Reads the file under its locks: the clients in memory become the file's,
   * with this store's unsaved changes on top. Not needed for correctness
   * (every save merges, every lookup reads fresh): it surfaces a bad file at
   * start-up and warms the memory.
   */
  async loadFromStorage(): Promise<void> {
    await this.#file.load();
  }

  /**
   * Validates and registers a client, resolving once it is on disk. Refusals
   * resolve with `invalid_client_metadata` or `invalid_redirect_uri`.
   */
  async registerClient(request: ClientRegistrationRequest): Promise<ClientRegistrationResult> {
    const { client_name: name, redirect_uris: uris } = request;
    if (!isString(name) || name.trim() === '') return refuse('invalid_client_metadata', 'client_name is required');
    if (!isStringArray(uris) || uris.length === 0) return refuse('invalid_redirect_uri', 'at least one redirect_uri is required');
    for (const uri of uris) {
      const problem = redirectUriProblem(uri, this.#policy);
      if (problem !== undefined) return refuse('invalid_redirect_uri', problem);
    }
    const { response_types = ['code'], grant_types = ['authorization_code', 'refresh_token'], token_endpoint_auth_method = 'none' } = request;
    if (!isStringArray(response_types) || !isStringArray(grant_types) || !isString(token_endpoint_auth_method)) {
      return refuse('invalid_client_metadata', 'response_types and grant_types must be string arrays, token_endpoint_auth_method a string');
    }
    const client: OAuthClient = {
      client_id: randomUUID(),
      client_name: name,
      redirect_uris: [...uris],
      response_types: [...response_types],
      grant_types: [...grant_types],
      token_endpoint_auth_method,
      client_id_issued_at: Math.floor(Date.now() / 1000),
    };
    this.#clients.set(client.client_id, client);
    await this.#persist(client.client_id, () => this.#clients.delete(client.client_id));
    return { success: true, client: copyOf(client) };
  }

  /** The client, or null. */
  async getClient(clientId: string): Promise<OAuthClient | null> {
    await this.#file.refresh();
    const client = this.#clients.get(clientId);
    return client === undefined ? null : copyOf(client);
  }

  /** Removes the client, resolving `true` once that is on disk, or `false` if there was none. */
  async deleteClient(clientId: string): Promise<boolean> {
    await this.#file.refresh();
    const client = this.#clients.get(clientId);
    if (client === undefined) return false;
    this.#clients.delete(clientId);
    await this.#persist(clientId, () => {
      if (!this.#clients.has(clientId)) this.#clients.set(clientId, client);
    });
    return true;
  }

  /** Whether `redirectUri` is registered for the client (loopback callbacks match on any port, RFC 8252 §7.3). */
  async isValidRedirectUri(clientId: string, redirectUri: string): Promise<boolean> {
    await this.#file.refresh();
    const client = this.#clients.get(clientId);
    return client !== undefined && client.redirect_uris.some((registered) => matchesRegisteredRedirectUri(registered, redirectUri));
  }

  /** Resolves once every change made before the call is on disk; rejects with the write's error. */
  flush(): Promise<void> {
    return this.#file.flush();
  }

  /** Saves what is pending and folds the journal into the store file, which then alone holds every client. */
  close(): Promise<void> {
    return this.#file.close();
  }

  /** Whether a change made through this store is not yet on disk. */
  get hasUnsavedChanges(): boolean {
    return this.#file.hasUnsavedChanges;
  }

  /** Clients held. */
  getMetrics(): { count: number } {
    return { count: this.#clients.size };
  }

  /** Saves; on failure undoes the change in memory and rethrows (NFR-8). */
  async #persist(clientId: string, undo: () => void): Promise<void> {
    this.#file.changed(clientId);
    try {
      await this.#file.saves.save();
    } catch (error) {
      undo();
      // A later save may already hold the undone change; the next one must overwrite it.
      this.#file.changed(clientId);
      throw error;
    }
  }
}
